"""Webhook authentication: the shared secret in the body, or an HMAC-SHA256 of the raw body.

TradingView can only put a secret in the alert's message, so a sender proves itself
either with the JSON field ``secret`` or, when it can set headers, with
``X-Signature: sha256=<hex HMAC-SHA256 of the raw body>`` (the secret itself then never
travels). Every comparison is constant-time. A failure names what is wrong without ever
echoing what was sent; the secret is never logged, never published (``Signal`` carries
only validated fields) and never part of a signal id (``signals.identity_bytes``).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from agentic_trading.signals import FieldError
from agentic_trading.telemetry.labels import REASON_BAD_SIGNATURE, REASON_MISSING, REASON_WRONG

SIGNATURE_HEADER = b"x-signature"
SIGNATURE_PREFIX = b"sha256="
SECRET_FIELD = "secret"


_HOW = 'put it in the JSON body as "secret", or sign the raw body: X-Signature: sha256=<hex HMAC-SHA256>'


# Why a webhook was refused 401, in the shape of a 422's reasons: the field the sender must fix.
MISSING = FieldError(SECRET_FIELD, f"missing: this gateway requires the webhook secret; {_HOW}", REASON_MISSING)
NOT_A_STRING = FieldError(SECRET_FIELD, "must be a string holding the webhook secret", REASON_WRONG)
WRONG = FieldError(SECRET_FIELD, "does not match the gateway's webhook secret (AT_WEBHOOK_SECRET)", REASON_WRONG)
MALFORMED_SIGNATURE = FieldError(
    "X-Signature", "must be sha256=<64 hex digits>: the HMAC-SHA256 of the raw body", REASON_BAD_SIGNATURE
)
BAD_SIGNATURE = FieldError(
    "X-Signature",
    "does not match the body: sign the exact bytes sent with HMAC-SHA256 and the webhook secret",
    REASON_BAD_SIGNATURE,
)


class WebhookAuthenticator:
    """Checks one webhook against the configured secret. Pure: no I/O, no clock."""

    def __init__(self, secret: str):
        if not secret:
            raise ValueError("the webhook secret is empty: set AT_WEBHOOK_SECRET to a long random string")
        self._secret = secret.encode()
        self._mac = hmac.new(self._secret, digestmod=hashlib.sha256)

    def sign(self, raw: bytes) -> str:
        """The X-Signature value for a body (what a sender computes)."""
        return SIGNATURE_PREFIX.decode() + self._digest(raw).decode()

    def check_signature(self, raw: bytes, header: bytes) -> FieldError | None:
        """None when ``header`` (the X-Signature value) is the body's HMAC."""
        given = header.strip()
        if given[: len(SIGNATURE_PREFIX)].lower() != SIGNATURE_PREFIX:
            return MALFORMED_SIGNATURE
        if not hmac.compare_digest(given[len(SIGNATURE_PREFIX) :].lower(), self._digest(raw)):
            return BAD_SIGNATURE
        return None

    def check_secret_field(self, payload: Any) -> FieldError | None:
        """None when the parsed body carries the secret in its ``secret`` field."""
        given = payload.get(SECRET_FIELD) if isinstance(payload, dict) else None
        if given is None:
            return MISSING
        if not isinstance(given, str):
            return NOT_A_STRING
        if not hmac.compare_digest(given.encode("utf-8", "surrogatepass"), self._secret):
            return WRONG
        return None

    def _digest(self, raw: bytes) -> bytes:
        mac = self._mac.copy()
        mac.update(raw)
        return mac.hexdigest().encode()
