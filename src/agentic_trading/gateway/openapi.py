"""The gateway's OpenAPI document, built once from the same constants the validation uses."""

from __future__ import annotations

from typing import Any

from agentic_trading import __version__
from agentic_trading.settings import Settings
from agentic_trading.signals import ACTIONS, MAX_INSTRUMENT_LEN, MAX_TEXT_LEN

_NUMBER = {"type": "number"}


def _signal_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["instrument", "action"],
        "properties": {
            "instrument": {"type": "string", "minLength": 1, "maxLength": MAX_INSTRUMENT_LEN, "example": "EURUSD"},
            "action": {"type": "string", "enum": list(ACTIONS), "description": "case-insensitive"},
            "timestamp": {"type": "string", "format": "date-time", "description": "ISO 8601; default: receipt time"},
            "confidence": {**_NUMBER, "minimum": 0, "maximum": 1},
            "price": {**_NUMBER, "exclusiveMinimum": 0},
            "stop_loss": {**_NUMBER, "exclusiveMinimum": 0, "description": "buy: below price; sell: above"},
            "take_profit": {**_NUMBER, "exclusiveMinimum": 0, "description": "buy: above price; sell: below"},
            "strategy": {"type": "string", "maxLength": MAX_TEXT_LEN},
            "timeframe": {"type": "string", "maxLength": MAX_TEXT_LEN},
        },
    }


def _error_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["error", "correlation_id"],
        "properties": {
            "error": {"type": "string"},
            "correlation_id": {"type": "string"},
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


def _webhook_operation(summary: str, settings: Settings) -> dict[str, Any]:
    json_error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    return {
        "post": {
            "summary": summary,
            "parameters": [
                {"name": "X-Correlation-ID", "in": "header", "required": False, "schema": {"type": "string", "maxLength": 128}},
                {"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string"}},
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Signal"}},
                    "text/plain": {"schema": {"type": "string", "description": "a JSON object, as TradingView sends it"}},
                },
            },
            "responses": {
                "200": {
                    "description": "stored on JetStream",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Accepted"}}},
                },
                "400": {"description": "body is not JSON", "content": json_error},
                "413": {"description": f"body over {settings.max_body_bytes} bytes", "content": json_error},
                "422": {"description": "a field is invalid; every invalid field is named", "content": json_error},
                "503": {"description": "JetStream did not store the signal; retry after Retry-After", "content": json_error},
            },
        }
    }


def openapi_document(settings: Settings) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Agentic Trading gateway", "version": __version__},
        "paths": {
            "/webhook/tradingview": _webhook_operation("Receive a TradingView alert", settings),
            "/webhook/test": _webhook_operation("Send a test signal through the whole pipeline", settings),
            "/healthz": {"get": {"summary": "Alive", "responses": {"200": {"description": "alive"}}}},
            "/readyz": {
                "get": {
                    "summary": "NATS and Redis reachable",
                    "responses": {"200": {"description": "ready"}, "503": {"description": "not ready"}},
                }
            },
            "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "metrics"}}}},
        },
        "components": {
            "schemas": {
                "Signal": _signal_schema(),
                "Error": _error_schema(),
                "Accepted": {
                    "type": "object",
                    "required": ["status", "signal_id", "correlation_id"],
                    "properties": {
                        "status": {"const": "accepted"},
                        "signal_id": {"type": "string"},
                        "correlation_id": {"type": "string"},
                        "test": {"type": "boolean"},
                        "duplicate": {"type": "boolean"},
                    },
                },
            }
        },
    }
