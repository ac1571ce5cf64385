"""What the webhook path reads from a request's headers: correlation id, length, key, signature, media type.

The Content-Type rule: a webhook body is JSON, sent as ``application/json`` or as
``text/plain`` (what TradingView sends when an alert's message is not itself recognised as
JSON; the body is still parsed as JSON). A request without a Content-Type is read as JSON too
(``curl --data-binary`` and simple clients send none). Any other media type (a form, XML,
``application/octet-stream``, ...) is refused with 415 before the body is read. Parameters
(``; charset=utf-8``) are allowed; JSON is UTF-8 whatever they say.
"""

from __future__ import annotations

from agentic_trading.gateway.auth import SIGNATURE_HEADER
from agentic_trading.signals import fresh_id

MAX_CORRELATION_ID_LEN = 128
ACCEPTED_MEDIA_TYPES = (b"application/json", b"text/plain")

CORRELATION_ID = b"x-correlation-id"
CONTENT_LENGTH = b"content-length"
CONTENT_TYPE = b"content-type"
IDEMPOTENCY_KEY = b"idempotency-key"
WANTED_HEADERS = frozenset({CORRELATION_ID, CONTENT_LENGTH, CONTENT_TYPE, IDEMPOTENCY_KEY, SIGNATURE_HEADER})


def wanted_headers(raw: list[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    """The headers the webhook path reads, collected in one pass (the first of a repeated one wins)."""
    found: dict[bytes, bytes] = {}
    for name, value in raw:
        if name in WANTED_HEADERS and name not in found:
            found[name] = value
    return found


def correlation_id_from(value: bytes | None) -> str:
    """The caller's X-Correlation-ID when it is sane, otherwise a new one."""
    if value is not None:
        text = value.decode("latin-1").strip()
        if 0 < len(text) <= MAX_CORRELATION_ID_LEN and text.isprintable():
            return text
    return fresh_id()


def media_type_accepted(content_type: bytes | None) -> bool:
    """True for a missing Content-Type, ``application/json`` and ``text/plain`` (any parameters)."""
    if content_type is None:
        return True
    media_type = content_type.split(b";", 1)[0].strip().lower()
    return media_type in ACCEPTED_MEDIA_TYPES or media_type == b""
