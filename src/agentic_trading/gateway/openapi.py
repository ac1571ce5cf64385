"""The gateway's OpenAPI document, built once from the same constants and settings the handler uses.

It describes the gateway as configured: 401 and the secret only when ``AT_WEBHOOK_SECRET``
is set, 403 only with ``AT_ALLOWED_SOURCES``, 429 only with a rate limit, so a schema-driven
fuzzer (Schemathesis, ``tests/integration/test_gateway_fuzz.py``) can hold every answer to it.
"""

from __future__ import annotations

from typing import Any

from agentic_trading import __version__
from agentic_trading.settings import Settings
from agentic_trading.signals import ACTIONS, MAX_INSTRUMENT_LEN, MAX_TEXT_LEN

_NUMBER = {"type": "number"}
_JSON_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
_CORRELATION_HEADER = {
    "X-Correlation-ID": {"description": "the request's, or a new one", "schema": {"type": "string"}},
}
_RETRY_HEADERS = {
    **_CORRELATION_HEADER,
    "Retry-After": {"description": "seconds to wait before retrying", "required": True, "schema": {"type": "string"}},
}


def _signal_schema(settings: Settings) -> dict[str, Any]:
    timestamp = "ISO 8601 (e.g. TradingView's {{timenow}}); default: receipt time."
    if settings.max_signal_age_s > 0:
        timestamp += (
            f" Refused (422) when older than {settings.max_signal_age_s:g} s or more than"
            f" {settings.max_clock_skew_s:g} s ahead of the gateway's clock."
        )
    properties: dict[str, Any] = {
        "instrument": {"type": "string", "minLength": 1, "maxLength": MAX_INSTRUMENT_LEN, "example": "EURUSD"},
        "action": {"type": "string", "enum": list(ACTIONS), "description": "case-insensitive"},
        "timestamp": {"type": "string", "format": "date-time", "description": timestamp},
        "confidence": {**_NUMBER, "minimum": 0, "maximum": 1},
        "price": {**_NUMBER, "exclusiveMinimum": 0},
        "stop_loss": {**_NUMBER, "exclusiveMinimum": 0, "description": "buy: below price; sell: above"},
        "take_profit": {**_NUMBER, "exclusiveMinimum": 0, "description": "buy: above price; sell: below"},
        "strategy": {"type": "string", "maxLength": MAX_TEXT_LEN},
        "timeframe": {"type": "string", "maxLength": MAX_TEXT_LEN},
    }
    # Validation takes an optional field sent as null as not given, so the document says so.
    for name, schema in properties.items():
        if name not in ("instrument", "action"):
            schema["type"] = [schema["type"], "null"]
    if settings.webhook_secret is not None:
        properties["secret"] = {
            "type": "string",
            "writeOnly": True,
            "description": "the webhook secret, unless X-Signature signs the body; never stored or forwarded",
        }
    return {
        "type": "object",
        "required": ["instrument", "action"],
        "properties": properties,
        "description": "Unknown fields are ignored; an optional field sent as null counts as not given. "
        "stop_loss and take_profit need price.",
    }


def _error_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["error", "correlation_id"],
        "properties": {
            "error": {"type": "string"},
            "correlation_id": {"type": "string"},
            "message": {"type": "string"},
            "signal_id": {"type": "string"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["field", "message", "reason"],
                    "properties": {
                        "field": {"type": "string"},
                        "message": {"type": "string"},
                        "reason": {"type": "string"},
                    },
                },
            },
        },
    }


def _error(description: str, headers: dict[str, Any] = _CORRELATION_HEADER) -> dict[str, Any]:
    return {"description": description, "headers": headers, "content": _JSON_ERROR}


def _webhook_operation(summary: str, settings: Settings) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {
            "name": "X-Correlation-ID",
            "in": "header",
            "required": False,
            "description": "kept when printable and at most 128 characters, otherwise replaced by a new one",
            "schema": {"type": "string"},
        },
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "description": "identifies the signal instead of its content: a retry with the same key is one signal",
            "schema": {"type": "string"},
        },
    ]
    responses: dict[str, Any] = {
        "200": {
            "description": "stored on JetStream",
            "headers": _CORRELATION_HEADER,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Accepted"}}},
        },
        "400": _error("body is not JSON"),
        "408": _error(f"body not received within {settings.request_deadline_s:g} s"),
        "413": _error(f"body over {settings.max_body_bytes} bytes"),
        "415": _error("Content-Type is neither application/json nor text/plain (a missing one is read as JSON)"),
        "431": _error(
            f"request line and headers over {settings.max_header_bytes} bytes or more than "
            f"{settings.max_header_count} headers; the connection is closed",
            {},
        ),
        "500": _error("the gateway failed (logged under the correlation id); outcome unknown: retry with the same body"),
        "422": _error("a field is invalid (every invalid field is named), or the timestamp is outside the replay window"),
        "503": _error(
            "not stored: JetStream unreachable or slow, or too many publishes in flight; retry after Retry-After",
            _RETRY_HEADERS,
        ),
    }
    if settings.webhook_secret is not None:
        parameters.append(
            {
                "name": "X-Signature",
                "in": "header",
                "required": False,
                "description": "sha256=<hex HMAC-SHA256 of the raw body with the webhook secret>; instead of `secret`",
                "schema": {"type": "string", "pattern": "^sha256=[0-9a-fA-F]{64}$"},
            }
        )
        responses["401"] = _error("secret missing or wrong, or X-Signature does not match the body")
    if settings.allowed_sources:
        responses["403"] = _error("the sender's address is not in AT_ALLOWED_SOURCES")
    if settings.rate_limit_per_s > 0:
        responses["429"] = _error("the sender's address is over its rate limit; retry after Retry-After", _RETRY_HEADERS)
    return {
        "post": {
            "summary": summary,
            "parameters": parameters,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Signal"}},
                    "text/plain": {"schema": {"type": "string", "description": "a JSON object, as TradingView sends it"}},
                },
            },
            "responses": dict(sorted(responses.items())),
        }
    }


def _get(summary: str, responses: dict[str, Any]) -> dict[str, Any]:
    return {"get": {"summary": summary, "responses": responses}}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def openapi_document(settings: Settings) -> dict[str, Any]:
    readiness = {
        "type": "object",
        "required": ["ready", "service", "checks"],
        "properties": {
            "ready": {"type": "boolean"},
            "service": {"type": "string"},
            "checks": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Agentic Trading gateway", "version": __version__},
        "paths": {
            "/webhook/tradingview": _webhook_operation("Receive a TradingView alert", settings),
            "/webhook/test": _webhook_operation("Send a test signal through the whole pipeline", settings),
            "/healthz": _get(
                "Alive",
                {
                    "200": {
                        "description": "alive",
                        "content": _json(
                            {
                                "type": "object",
                                "required": ["status", "service"],
                                "properties": {"status": {"const": "ok"}, "service": {"type": "string"}},
                            }
                        ),
                    }
                },
            ),
            "/readyz": _get(
                "NATS and Redis reachable",
                {
                    "200": {"description": "ready", "content": _json(readiness)},
                    "503": {"description": "not ready; checks says what is wrong", "content": _json(readiness)},
                },
            ),
            "/metrics": _get(
                "Prometheus metrics",
                {"200": {"description": "metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}},
            ),
            "/openapi.json": _get("This document", {"200": {"description": "OpenAPI 3.1", "content": _json({"type": "object"})}}),
        },
        "components": {
            "schemas": {
                "Signal": _signal_schema(settings),
                "Error": _error_schema(),
                "Accepted": {
                    "type": "object",
                    "required": ["status", "signal_id", "correlation_id", "test", "duplicate"],
                    "properties": {
                        "status": {"const": "accepted"},
                        "signal_id": {"type": "string"},
                        "correlation_id": {"type": "string"},
                        "test": {"type": "boolean"},
                        "duplicate": {"type": "boolean", "description": "JetStream already held this signal"},
                    },
                },
            }
        },
    }
