"""Every answer the webhook path gives, built in one place: status, JSON body, headers, and what is counted.

A refusal names the field a sender must fix (``errors: [{field, message, reason}]``) and
carries the request's correlation id. What each answer promises a retrying client is part
of the contract (``docs/security.md``): a 503 says whether the signal *was not stored*
(nothing reached JetStream: retry freely) or whether its outcome is *unknown* (it may be
stored: retry with the same body or ``Idempotency-Key``, and a stored one comes back as a
duplicate).
"""

from __future__ import annotations

from typing import Any

from agentic_trading.signals import FieldError, SignalValidationError
from agentic_trading.telemetry.logging import get_logger
from agentic_trading.telemetry.metrics import GatewayMetrics

log = get_logger("gateway")

Headers = list[tuple[bytes, bytes]]
Answer = tuple[int, dict[str, Any], Headers]

RETRY_AFTER: Headers = [(b"retry-after", b"1")]
CONNECTION_CLOSE: Headers = [(b"connection", b"close")]
WWW_AUTHENTICATE: Headers = [(b"www-authenticate", b'Signature realm="webhook", headers="X-Signature", algorithm="hmac-sha256"')]
ACCEPT_POST: Headers = [(b"accept-post", b"application/json, text/plain")]


def refusal(status: int, error: str, field: str, message: str, correlation_id: str, headers: Headers | None = None) -> Answer:
    """A refusal body: ``error``, the correlation id and one field error."""
    errors = [{"field": field, "message": message, "reason": error}]
    return status, {"error": error, "correlation_id": correlation_id, "errors": errors}, headers or []


class Answers:
    """The webhook path's answers, each counted in the gateway's metrics where it says so."""

    def __init__(self, metrics: GatewayMetrics):
        self.metrics = metrics

    def invalid(self, exc: SignalValidationError, correlation_id: str) -> Answer:
        """422: every invalid field named; counted by the first error's reason."""
        errors = [e.as_dict() for e in exc.errors]
        self.metrics.validation_errors.labels(exc.errors[0].reason).inc()
        log.info("webhook_rejected", correlation_id=correlation_id, status=422, errors=errors)
        return 422, {"error": "validation_failed", "correlation_id": correlation_id, "errors": errors}, []

    def unauthorized(self, failure: FieldError, source: str, correlation_id: str) -> Answer:
        """401 naming what failed (never what was sent), with WWW-Authenticate."""
        self.metrics.auth_failures.labels(failure.reason).inc()
        log.info("webhook_unauthorized", correlation_id=correlation_id, status=401, reason=failure.reason, source=source)
        return 401, {"error": "unauthorized", "correlation_id": correlation_id, "errors": [failure.as_dict()]}, WWW_AUTHENTICATE

    def refuse(
        self, status: int, reason: str, field: str, message: str, correlation_id: str, headers: Headers | None = None
    ) -> Answer:
        """A refusal about the body (400, 413, 415), counted as a validation error."""
        self.metrics.validation_errors.labels(reason).inc()
        answer = refusal(status, reason, field, message, correlation_id, headers)
        log.info("webhook_rejected", correlation_id=correlation_id, status=status, errors=answer[1]["errors"])
        return answer

    def internal_error(self, correlation_id: str) -> Answer:
        """500 for a failure of the gateway itself; the caller logs the traceback as one JSON line."""
        return refusal(
            500,
            "internal_error",
            "body",
            "the gateway failed on this request (logged under this correlation id); whether the signal was "
            "stored is unknown: retry with the same body or Idempotency-Key (a stored one comes back as a duplicate)",
            correlation_id,
        )
