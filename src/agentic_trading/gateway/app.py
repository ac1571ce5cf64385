"""The gateway's routes: a thin ASGI handler on the webhook path, measured not assumed.

``research/gateway-limit.md`` measured Starlette at about 65 % and FastAPI with a
pydantic model at about 43 % of a raw ASGI handler's durable throughput on this
machine, so the webhook path is framework-free; the OpenAPI document is served as
a static JSON object built once (``openapi.py``).

A webhook is answered 200 only after JetStream acknowledged the signal; 503 with
``Retry-After`` when it could not be stored within ``publish_timeout_s``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import orjson
import redis.asyncio as aioredis
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from agentic_trading import bus
from agentic_trading.gateway.openapi import openapi_document
from agentic_trading.redis_client import connect_redis
from agentic_trading.settings import Settings
from agentic_trading.signals import (
    REASON_BODY_TOO_LARGE,
    REASON_INVALID_JSON,
    SignalValidationError,
    build_signal,
)
from agentic_trading.telemetry.http import Receive, Scope, Send, read_body, run_readiness, send_json, send_metrics
from agentic_trading.telemetry.logging import bind_signal, get_logger
from agentic_trading.telemetry.metrics import GatewayMetrics

log = get_logger("gateway")

WEBHOOK_ENDPOINTS = {"/webhook/tradingview": "tradingview", "/webhook/test": "test"}
MAX_CORRELATION_ID_LEN = 128
RETRY_AFTER = [(b"retry-after", b"1")]


def _correlation_id(scope: Scope) -> str:
    """The caller's X-Correlation-ID when it is sane, otherwise a new one."""
    for name, value in scope["headers"]:
        if name == b"x-correlation-id":
            text = value.decode("latin-1").strip()
            if 0 < len(text) <= MAX_CORRELATION_ID_LEN and text.isprintable():
                return text
            break
    return uuid.uuid4().hex


def _header(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope["headers"]:
        if name == wanted:
            return value.decode("latin-1")
    return None


class Gateway:
    """The ASGI application. One instance per worker process; it owns one NATS connection."""

    def __init__(self, settings: Settings, metrics: GatewayMetrics | None = None):
        self.settings = settings
        self.metrics = metrics or GatewayMetrics()
        self.nc: NATS | None = None
        self.js: JetStreamContext | None = None
        self.redis: aioredis.Redis | None = None
        self._connect_task: asyncio.Task[None] | None = None
        self._openapi = orjson.dumps(openapi_document(settings))

    # -- lifecycle -------------------------------------------------------------------
    async def startup(self) -> None:
        self.redis = connect_redis(self.settings, max_connections=4, timeout_s=1.0)
        # Serve at once (503 until the bus is there) and connect in the background.
        self._connect_task = asyncio.create_task(self._connect_bus(), name="gateway-nats-connect")

    async def _connect_bus(self) -> None:
        self.nc = await bus.connect(self.settings, "gateway", on_state=self._on_bus_state)
        self.js = self.nc.jetstream(timeout=self.settings.publish_timeout_s)
        while True:
            try:
                await bus.ensure_streams(self.js, self.settings)
                break
            except Exception as exc:  # noqa: BLE001 - JetStream may still be starting
                log.warning("ensure_streams_retry", error=str(exc))
                await asyncio.sleep(0.5)
        log.info("gateway_ready", nats=self.settings.nats_url)

    def _on_bus_state(self, connected: bool) -> None:
        self.metrics.nats_connected.set(1 if connected else 0)

    async def shutdown(self) -> None:
        if self._connect_task and not self._connect_task.done():
            self._connect_task.cancel()
        if self.nc is not None and not self.nc.is_closed:
            await self.nc.drain()
        if self.redis is not None:
            await self.redis.aclose()

    # -- ASGI ------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            path = scope["path"]
            endpoint = WEBHOOK_ENDPOINTS.get(path)
            if endpoint is not None:
                if scope["method"] == "POST":
                    await self.handle_webhook(scope, receive, send, endpoint)
                else:
                    await send_json(send, 405, {"error": "method_not_allowed", "allowed": ["POST"]})
            elif path == "/metrics":
                await send_metrics(send, self.metrics.registry)
            elif path == "/healthz":
                await send_json(send, 200, {"status": "ok", "service": "gateway"})
            elif path == "/readyz":
                await self.handle_readiness(send)
            elif path == "/openapi.json":
                await _send_raw_json(send, self._openapi)
            else:
                await send_json(send, 404, {"error": "not_found", "path": path})
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:  # noqa: BLE001 - reported to the server, which exits
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def handle_readiness(self, send: Send) -> None:
        async def nats_ready() -> str | None:
            if self.nc is None or not self.nc.is_connected:
                return f"not connected to NATS at {self.settings.nats_url}"
            return None

        async def redis_ready() -> str | None:
            assert self.redis is not None
            await self.redis.ping()
            return None

        results = await run_readiness({"nats": nats_ready, "redis": redis_ready})
        ready = all(v == "ok" for v in results.values())
        await send_json(send, 200 if ready else 503, {"ready": ready, "service": "gateway", "checks": results})

    # -- the hot path ------------------------------------------------------------------
    async def handle_webhook(self, scope: Scope, receive: Receive, send: Send, endpoint: str) -> None:
        started = time.perf_counter()
        received_at = time.time()
        correlation_id = _correlation_id(scope)
        cid_header = [(b"x-correlation-id", correlation_id.encode())]
        status, body, extra_headers = await self._accept(scope, receive, endpoint, correlation_id, received_at)
        await send_json(send, status, body, cid_header + extra_headers)
        self.metrics.webhooks.labels(endpoint, str(status)).inc()
        self.metrics.processing_duration.labels(endpoint).observe(time.perf_counter() - started)

    async def _accept(
        self, scope: Scope, receive: Receive, endpoint: str, correlation_id: str, received_at: float
    ) -> tuple[int, dict[str, Any], list[tuple[bytes, bytes]]]:
        limit = self.settings.max_body_bytes
        declared = _header(scope, b"content-length")
        raw = None if declared is not None and declared.isdigit() and int(declared) > limit else await read_body(receive, limit)
        if raw is None:
            return self._refuse(
                413, REASON_BODY_TOO_LARGE, "body", f"is larger than {limit} bytes", correlation_id
            )
        try:
            payload = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return self._refuse(400, REASON_INVALID_JSON, "body", f"is not valid JSON ({exc.msg})", correlation_id)
        test = endpoint == "test"
        try:
            signal = build_signal(
                payload,
                correlation_id=correlation_id,
                received_at=received_at,
                test=test,
                idempotency_key=_header(scope, b"idempotency-key"),
            )
        except SignalValidationError as exc:
            errors = [e.as_dict() for e in exc.errors]
            self.metrics.validation_errors.labels(exc.errors[0].reason).inc()
            log.info("webhook_rejected", correlation_id=correlation_id, status=422, errors=errors)
            return 422, {"error": "validation_failed", "correlation_id": correlation_id, "errors": errors}, []

        with bind_signal(signal.signal_id, correlation_id):
            return await self._publish(signal)

    async def _publish(self, signal: Any) -> tuple[int, dict[str, Any], list[tuple[bytes, bytes]]]:
        nc, js = self.nc, self.js
        if nc is None or js is None or not nc.is_connected:
            return self._unavailable(signal, "not connected to NATS")
        try:
            ack = await js.publish(
                bus.signal_subject(signal.subject_token),
                signal.to_json(),
                timeout=self.settings.publish_timeout_s,
                headers={bus.MSG_ID_HEADER: signal.signal_id, bus.CORRELATION_HEADER: signal.correlation_id},
            )
        except Exception as exc:  # noqa: BLE001 - every failure to store is a 503, counted and logged
            return self._unavailable(signal, f"{type(exc).__name__}: {exc}")
        if ack.duplicate:
            self.metrics.duplicates.inc()
        log.info(
            "signal_accepted",
            instrument=signal.instrument,
            action=signal.action,
            test=signal.test,
            stream_seq=ack.seq,
            duplicate=bool(ack.duplicate),
        )
        return (
            200,
            {
                "status": "accepted",
                "signal_id": signal.signal_id,
                "correlation_id": signal.correlation_id,
                "test": signal.test,
                "duplicate": bool(ack.duplicate),
            },
            [],
        )

    def _unavailable(self, signal: Any, why: str) -> tuple[int, dict[str, Any], list[tuple[bytes, bytes]]]:
        self.metrics.publish_failures.inc()
        log.warning("signal_publish_failed", error=why)
        return (
            503,
            {
                "error": "bus_unavailable",
                "message": "the signal was not stored; retry with the same payload or Idempotency-Key",
                "correlation_id": signal.correlation_id,
                "signal_id": signal.signal_id,
            },
            RETRY_AFTER,
        )

    def _refuse(
        self, status: int, reason: str, field: str, message: str, correlation_id: str
    ) -> tuple[int, dict[str, Any], list[tuple[bytes, bytes]]]:
        self.metrics.validation_errors.labels(reason).inc()
        errors = [{"field": field, "message": message, "reason": reason}]
        log.info("webhook_rejected", correlation_id=correlation_id, status=status, errors=errors)
        return status, {"error": reason, "correlation_id": correlation_id, "errors": errors}, []


async def _send_raw_json(send: Send, payload: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def create_app(settings: Settings | None = None) -> Gateway:
    """The application factory uvicorn calls in each worker."""
    from agentic_trading.settings import load_settings
    from agentic_trading.telemetry.logging import configure_logging

    settings = settings or load_settings()
    configure_logging("gateway", settings.log_level)
    return Gateway(settings)
