"""The gateway's routes: a thin ASGI handler on the webhook path, measured not assumed.

Measured (docs/measurements.md): Starlette kept about 65 % and FastAPI with a
pydantic model about 43 % of a raw ASGI handler's durable throughput on this
machine, so the webhook path is framework-free; the OpenAPI document is served as
a static JSON object built once (``openapi.py``).

A webhook passes, in this order and each step only when configured: header limits (431,
``protocol.py``), the source allow-list (403), the per-source rate limit (429), the
Content-Type (415, ``requests.py``), the body size and deadline (413, 408), JSON (400),
authentication (401, ``auth.py``), validation and the replay window (422, ``replay.py``),
and finally JetStream (``publish.py``): 200 only after it acknowledged the signal, 503 with
``Retry-After`` saying whether the signal was not stored or its outcome is unknown. Nothing
refused is published; the answers are built in ``answers.py``. ``docs/security.md``.
"""

from __future__ import annotations

import asyncio
import os
import time

import orjson
import redis.asyncio as aioredis
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from agentic_trading import bus
from agentic_trading.gateway.answers import (
    ACCEPT_POST,
    CONNECTION_CLOSE,
    Answer,
    Answers,
    refusal,
)
from agentic_trading.gateway.auth import MISSING, SIGNATURE_HEADER, WebhookAuthenticator
from agentic_trading.gateway.backlog import BacklogWatch
from agentic_trading.gateway.limits import (
    AddressSet,
    BodyTimeout,
    TokenBuckets,
    client_address,
    parse_networks,
    read_body_within,
    retry_after_header,
)
from agentic_trading.gateway.openapi import openapi_document
from agentic_trading.gateway.outbox import OUTBOX
from agentic_trading.gateway.protocol import WHOLE_RESPONSE
from agentic_trading.gateway.publish import SignalPublisher
from agentic_trading.gateway.readiness import readiness_checks
from agentic_trading.gateway.replay import FreshnessWindow, timestamp_problems, window_fits_dedup
from agentic_trading.gateway.requests import (
    CONTENT_LENGTH,
    CONTENT_TYPE,
    CORRELATION_ID,
    IDEMPOTENCY_KEY,
    correlation_id_from,
    media_type_accepted,
    wanted_headers,
)
from agentic_trading.gateway.workers import multiprocess_dir, scrape_registry
from agentic_trading.lean_jetstream import LeanJetStream
from agentic_trading.redis_client import connect_redis
from agentic_trading.service.http import Receive, Scope, Send, send_json, send_metrics
from agentic_trading.settings import Settings
from agentic_trading.signals import (
    MAX_NESTING_DEPTH,
    REASON_BODY_TOO_LARGE,
    REASON_INVALID_JSON,
    REASON_UNSUPPORTED_MEDIA_TYPE,
    FieldError,
    SignalValidationError,
    build_signal,
    nests_deeper_than,
)
from agentic_trading.telemetry.labels import AUTH_FAILURE_REASONS, REASON_SOURCE_NOT_ALLOWED
from agentic_trading.telemetry.logging import get_logger
from agentic_trading.telemetry.metrics import WEBHOOK_STATUSES, GatewayMetrics

log = get_logger("gateway")

WEBHOOK_ENDPOINTS = {"/webhook/tradingview": "tradingview", "/webhook/test": "test"}
GET_ROUTES = ("/healthz", "/readyz", "/metrics", "/openapi.json")
ALLOW_POST = [(b"allow", b"POST")]
ALLOW_GET = [(b"allow", b"GET, HEAD")]
_NO_EXTENSIONS: dict[str, object] = {}


class Gateway:
    """The ASGI application. One instance per worker process; it owns one NATS connection."""

    def __init__(self, settings: Settings, metrics: GatewayMetrics | None = None):
        self.settings = settings
        self.metrics = metrics or GatewayMetrics()
        self.answers = Answers(self.metrics)
        # Set when this is one of AT_GATEWAY_WORKERS > 1 processes: /metrics reads every worker's files.
        self.metrics_dir = multiprocess_dir()
        self._health = orjson.dumps({"status": "ok", "service": "gateway", "pid": os.getpid()})
        self.nc: NATS | None = None
        self.js: JetStreamContext | None = None
        self.redis: aioredis.Redis | None = None
        self._connect_task: asyncio.Task[None] | None = None
        self._due_task: asyncio.Task[None] | None = None
        self._openapi = orjson.dumps(openapi_document(settings))
        # Security and limits, each None/empty when turned off (then it costs nothing).
        secret = settings.webhook_secret
        self.auth = WebhookAuthenticator(secret.get_secret_value()) if secret is not None else None
        self.allowed_sources = AddressSet(parse_networks(settings.allowed_sources))
        self.rate_limit_exempt = AddressSet(parse_networks(settings.rate_limit_exempt))
        self.rate_limits = (
            TokenBuckets(settings.rate_limit_per_s, settings.rate_limit_burst) if settings.rate_limit_per_s > 0 else None
        )
        self.freshness = FreshnessWindow.from_settings(settings)
        self._checks_source = bool(self.allowed_sources) or self.rate_limits is not None
        self.publisher = SignalPublisher(settings, self.metrics)
        self.backlog = BacklogWatch(self.metrics.signal_backlog, settings.decision_deadline_s)
        # Label children resolved once: .labels() on every request costs more than the increment.
        self._webhooks = {
            (e, s): self.metrics.webhooks.labels(e, s) for e in WEBHOOK_ENDPOINTS.values() for s in WEBHOOK_STATUSES
        }
        self._durations = {e: self.metrics.processing_duration.labels(e) for e in WEBHOOK_ENDPOINTS.values()}
        self._auth_failures = {r: self.metrics.auth_failures.labels(r) for r in AUTH_FAILURE_REASONS}

    # -- lifecycle -------------------------------------------------------------------
    async def startup(self) -> None:
        self._log_posture()
        self.redis = connect_redis(self.settings, "gateway", max_connections=4, timeout_s=1.0)
        # Serve at once (503 until the bus is there) and connect in the background.
        self._connect_task = asyncio.create_task(self._connect_bus(), name="gateway-nats-connect")
        self._due_task = asyncio.create_task(self.publisher.due.run(self.redis), name="gateway-signals-due")

    async def _connect_bus(self) -> None:
        self.nc = await bus.connect(self.settings, "gateway", on_state=self._on_bus_state)
        self.js = LeanJetStream(self.nc, timeout=self.settings.publish_timeout_s)
        while True:
            try:
                await bus.ensure_streams(self.js, self.settings)
                break
            except Exception as exc:  # noqa: BLE001 - JetStream may still be starting
                log.warning("ensure_streams_retry", error=str(exc))
                await asyncio.sleep(0.5)
        log.info("gateway_ready", nats=self.settings.nats_url)
        await self.backlog.run(self.nc)  # until shutdown cancels this task

    def _log_posture(self) -> None:
        """One line saying which protections are on (never the secret itself)."""
        settings = self.settings
        log.info(
            "gateway_security",
            secret=self.auth is not None,
            allowed_sources=settings.allowed_sources or "any",
            trust_proxy=settings.trust_proxy,
            rate_limit_per_s=settings.rate_limit_per_s,
            rate_limit_burst=settings.rate_limit_burst,
            max_signal_age_s=settings.max_signal_age_s,
            max_clock_skew_s=settings.max_clock_skew_s,
            max_inflight_publishes=settings.max_inflight_publishes,
        )
        if self.freshness is not None and not window_fits_dedup(settings):
            log.warning(
                "replay_window_exceeds_dedup_window",
                message="a replay older than the dedup window but inside the replay window would be a new signal: "
                "keep AT_MAX_SIGNAL_AGE_S + AT_MAX_CLOCK_SKEW_S <= AT_DEDUP_WINDOW_S",
            )

    def _on_bus_state(self, connected: bool) -> None:
        self.metrics.nats_connected.set(1 if connected else 0)

    async def shutdown(self) -> None:
        for task in (self._connect_task, self._due_task):
            if task is not None and not task.done():
                task.cancel()
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
                    await send_json(send, 405, {"error": "method_not_allowed", "allowed": ["POST"]}, ALLOW_POST)
            elif path in GET_ROUTES and scope["method"] not in ("GET", "HEAD"):
                await send_json(send, 405, {"error": "method_not_allowed", "allowed": ["GET", "HEAD"]}, ALLOW_GET)
            elif path == "/metrics":
                registry = self.metrics.registry if self.metrics_dir is None else scrape_registry(self.metrics_dir)
                await send_metrics(send, registry)
            elif path == "/healthz":  # the pid tells which worker answered
                await _send_raw_json(send, self._health)
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
        results = await readiness_checks(self)
        ready = all(v == "ok" for v in results.values())
        await send_json(send, 200 if ready else 503, {"ready": ready, "service": "gateway", "checks": results})

    def record_refused_headers(self, path: str | None, why: str) -> None:
        """Called by the HTTP protocol when it answered 431 before the request reached the app."""
        endpoint = WEBHOOK_ENDPOINTS.get(path or "")
        if endpoint is not None:
            self._webhooks[(endpoint, "431")].inc()
        log.info("request_headers_refused", status=431, path=(path or "?")[:200], reason=why)

    # -- the hot path ------------------------------------------------------------------
    async def handle_webhook(self, scope: Scope, receive: Receive, send: Send, endpoint: str) -> None:
        started = time.perf_counter()
        received_at = time.time()
        headers = wanted_headers(scope["headers"])
        correlation_id = correlation_id_from(headers.get(CORRELATION_ID))  # printable: safe in a header
        cid = correlation_id.encode()
        try:
            status, body, extra_headers = await self._accept(scope, receive, headers, endpoint, correlation_id, received_at)
        except Exception:  # noqa: BLE001 - no input may crash the handler: a counted, logged JSON 500
            log.exception("webhook_failed", correlation_id=correlation_id, endpoint=endpoint)
            status, body, extra_headers = self.answers.internal_error(correlation_id)
        whole = scope.get("extensions", _NO_EXTENSIONS).get(WHOLE_RESPONSE)
        if whole is not None and not extra_headers:  # the common answer: one write, no per-header checks
            await whole(status, b"content-type: application/json\r\nx-correlation-id: %s\r\n" % cid, orjson.dumps(body))
        else:
            if whole is None:  # not our protocol (a test client): nothing holds the answer for its line
                OUTBOX.flush()
            await send_json(send, status, body, [(b"x-correlation-id", cid), *extra_headers])
        counter = self._webhooks.get((endpoint, str(status)))
        (counter or self.metrics.webhooks.labels(endpoint, str(status))).inc()
        self._durations[endpoint].observe(time.perf_counter() - started)

    async def _accept(
        self,
        scope: Scope,
        receive: Receive,
        headers: dict[bytes, bytes],
        endpoint: str,
        correlation_id: str,
        received_at: float,
    ) -> Answer:
        if self._checks_source:
            refused = self._check_source(scope, correlation_id)
            if refused is not None:
                return refused
        if not media_type_accepted(headers.get(CONTENT_TYPE)):
            media_type = headers[CONTENT_TYPE].decode("latin-1")[:100]
            return self.answers.refuse(
                415,
                REASON_UNSUPPORTED_MEDIA_TYPE,
                "Content-Type",
                f"{media_type!r} is not accepted: send the JSON body as application/json or text/plain",
                correlation_id,
                ACCEPT_POST + CONNECTION_CLOSE,
            )

        limit = self.settings.max_body_bytes
        declared = headers.get(CONTENT_LENGTH)
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raw = None
        else:
            try:
                raw = await read_body_within(receive, limit, self.settings.request_deadline_s)
            except BodyTimeout:
                deadline = self.settings.request_deadline_s
                return refusal(
                    408,
                    "request_timeout",
                    "body",
                    f"did not arrive within {deadline:g} s (AT_REQUEST_DEADLINE_S)",
                    correlation_id,
                    CONNECTION_CLOSE,
                )
        if raw is None:
            # Connection: close, so the server reads and discards the rest (protocol.py) instead of resetting.
            return self.answers.refuse(
                413, REASON_BODY_TOO_LARGE, "body", f"is larger than {limit} bytes", correlation_id, CONNECTION_CLOSE
            )

        auth = self.auth
        signature = headers.get(SIGNATURE_HEADER)
        if auth is not None and signature is not None:
            failure = auth.check_signature(raw, signature)
            if failure is not None:
                return self._unauthorized(failure, scope, correlation_id)
        try:
            payload = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            if auth is not None and signature is None:
                return self._unauthorized(MISSING, scope, correlation_id)
            return self.answers.refuse(400, REASON_INVALID_JSON, "body", f"is not valid JSON ({exc.msg})", correlation_id)
        if nests_deeper_than(payload, MAX_NESTING_DEPTH):
            return self.answers.refuse(
                400,
                REASON_INVALID_JSON,
                "body",
                f"nests arrays or objects deeper than {MAX_NESTING_DEPTH} levels; a signal is one flat object",
                correlation_id,
            )
        if auth is not None and signature is None:
            failure = auth.check_secret_field(payload)
            if failure is not None:
                return self._unauthorized(failure, scope, correlation_id)

        idempotency_key = headers.get(IDEMPOTENCY_KEY)
        problems: list[FieldError] = []
        try:
            signal = build_signal(
                payload,
                correlation_id=correlation_id,
                received_at=received_at,
                test=endpoint == "test",
                idempotency_key=idempotency_key.decode("latin-1") if idempotency_key is not None else None,
            )
        except SignalValidationError as exc:
            problems = list(exc.errors)
        problems += timestamp_problems(payload, received_at, self.freshness, require=self.settings.require_timestamp)
        if problems:  # every problem in one answer, so a sender fixes them in one go
            return self.answers.invalid(SignalValidationError(problems), correlation_id)

        return await self.publisher.publish(self.nc, self.js, self.redis, signal)  # binds the ids where it logs

    def _check_source(self, scope: Scope, correlation_id: str) -> Answer | None:
        """403 for a source outside AT_ALLOWED_SOURCES, 429 for one over its rate; else None."""
        source = client_address(scope, self.settings.trust_proxy)
        if self.allowed_sources and source not in self.allowed_sources:
            self._auth_failures[REASON_SOURCE_NOT_ALLOWED].inc()
            log.info("webhook_forbidden", correlation_id=correlation_id, status=403, source=source)
            return refusal(
                403,
                "forbidden",
                "source",
                f"{source} is not in the gateway's allowed sources (AT_ALLOWED_SOURCES)",
                correlation_id,
            )
        if self.rate_limits is not None and source not in self.rate_limit_exempt:
            wait = self.rate_limits.take(source, time.monotonic())
            if wait > 0:
                log.debug("webhook_rate_limited", correlation_id=correlation_id, status=429, source=source)
                rate, burst = self.settings.rate_limit_per_s, self.settings.rate_limit_burst
                return refusal(
                    429,
                    "rate_limited",
                    "source",
                    f"{source} sent more than {burst} webhooks at once or {rate:g}/s (AT_RATE_LIMIT_PER_S, AT_RATE_LIMIT_BURST): retry after Retry-After",
                    correlation_id,
                    [retry_after_header(wait)],
                )
        return None

    def _unauthorized(self, failure: FieldError, scope: Scope, correlation_id: str) -> Answer:
        return self.answers.unauthorized(failure, client_address(scope, self.settings.trust_proxy), correlation_id)


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
    from agentic_trading.gateway.protocol import configure_header_limits
    from agentic_trading.settings import load_settings
    from agentic_trading.telemetry.logging import configure_logging

    settings = settings or load_settings()
    configure_logging("gateway", settings.log_level)
    configure_header_limits(settings)  # a spawned worker imported the protocol class afresh
    return Gateway(settings)
