"""The receiver's HTTP surface: ``POST /alerts`` from Alertmanager, ``GET /notifications`` for tests.

On a secured stack (``AT_WEB_AUTH``, or Prometheus and Alertmanager off loopback) ``POST /alerts``
takes only Alertmanager's basic auth (user ``alertmanager``, ``<state_dir>/secrets/web_receiver``),
so nobody else can inject a fake alert that reaches the receiver (docs/security.md).
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs

from agentic_trading.credentials import read_stack_secret
from agentic_trading.receiver.payload import ALERT_STATUSES, PayloadError, parse_webhook
from agentic_trading.receiver.store import NotificationStore
from agentic_trading.receiver.watchdog import WATCHDOG, WatchdogWatch
from agentic_trading.service.http import Receive, Scope, Send, ServiceApp, read_body, send_json
from agentic_trading.service.runtime import run_service
from agentic_trading.settings import Settings, load_settings
from agentic_trading.telemetry.logging import configure_logging, get_logger
from agentic_trading.telemetry.metrics import ReceiverMetrics
from agentic_trading.web_access import RECEIVER_SECRET, RECEIVER_USER

SERVICE = "receiver"
MAX_BODY_BYTES = 1024 * 1024
QUERY_FILTERS = ("alertname", "status", "since")
WATCHDOG_CHECK_INTERVAL_S = 1.0

log = get_logger(__name__)


class _QueryError(PayloadError):
    """A query parameter that cannot be used: like a bad payload, answered 400 naming ``field``."""


def build_app(
    store: NotificationStore,
    metrics: ReceiverMetrics,
    clock: Callable[[], float] = time.time,
    watchdog: WatchdogWatch | None = None,
    password: str | None = None,
) -> ServiceApp:
    """The receiver as an ASGI app over ``store``; ``clock`` stamps ``received_at``.

    ``watchdog`` (default: a new watch started now) is told of every Watchdog notification.
    ``password``: ``POST /alerts`` requires basic auth as ``alertmanager`` with it (None: open).
    """
    watch = watchdog if watchdog is not None else WatchdogWatch(started_at=clock())
    expected = _basic_header(RECEIVER_USER, password) if password else None

    async def receive_alerts(scope: Scope, receive: Receive, send: Send) -> None:
        if expected is not None and not _authorized(scope, expected):
            log.warning("alert_post_unauthorized", client=str((scope.get("client") or ("?",))[0]))
            await _send_error(send, 401, "unauthorized", "Authorization", "Alertmanager's basic auth is required")
            return
        body = await read_body(receive, MAX_BODY_BYTES)
        if body is None:
            await _send_error(send, 413, "payload_too_large", "body", f"larger than {MAX_BODY_BYTES} bytes")
            return
        try:
            notifications = parse_webhook(body, received_at=clock())
        except PayloadError as exc:
            log.warning("alert_payload_refused", field=exc.field, problem=exc.problem)
            await _send_error(send, 400, "invalid_payload", exc.field, exc.problem)
            return
        store.append(notifications)
        for n in notifications:
            if n.alertname == WATCHDOG and n.status == "firing":
                note_watchdog(watch, metrics, n.received_at)
            metrics.notifications.labels(n.alertname, n.status).inc()
            log.info(
                "alert_received",
                alertname=n.alertname,
                status=n.status,
                startsAt=n.startsAt,
                fingerprint=n.fingerprint,
                receiver=n.receiver,
            )
        await send_json(send, 200, {"received": len(notifications)})

    async def list_notifications(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            filters = _parse_filters(scope.get("query_string", b""))
        except _QueryError as exc:
            await _send_error(send, 400, "invalid_query", exc.field, exc.problem)
            return
        found = store.query(alertname=filters.alertname, status=filters.status, since=filters.since)
        await send_json(send, 200, {"notifications": [n.to_json() for n in found]})

    async def watchdog_status(scope: Scope, receive: Receive, send: Send) -> None:
        await send_json(send, 200, watch.status(clock()))

    return ServiceApp(
        SERVICE,
        metrics.registry,
        routes={
            ("POST", "/alerts"): receive_alerts,
            ("GET", "/notifications"): list_notifications,
            ("GET", "/watchdog"): watchdog_status,
        },
    )


def note_watchdog(watch: WatchdogWatch, metrics: ReceiverMetrics, at: float) -> None:
    """A Watchdog notification arrived: record it, and say so if it had been missing."""
    if watch.received(at):
        log.info("watchdog_back", interval_s=round(watch.interval_s(), 3))
    metrics.watchdog_missing.set(0)
    metrics.watchdog_last_received.set(at)


def check_watchdog(watch: WatchdogWatch, metrics: ReceiverMetrics, now: float) -> None:
    """Once a second: is the Watchdog overdue? Logged once per outage, as an error."""
    if watch.check(now):
        status = watch.status(now)
        log.error(
            "watchdog_missing",
            silent_for_s=status["silent_for_s"],
            expected_interval_s=status["expected_interval_s"],
            hint="Prometheus, Alertmanager or the path between them is broken: atctl status; atctl alerts",
        )
    metrics.watchdog_missing.set(int(watch.missing))


async def watch_watchdog(watch: WatchdogWatch, metrics: ReceiverMetrics, stop: asyncio.Event) -> None:
    """Check the Watchdog every second until ``stop``."""
    while not stop.is_set():
        check_watchdog(watch, metrics, time.time())
        try:
            await asyncio.wait_for(stop.wait(), timeout=WATCHDOG_CHECK_INTERVAL_S)
        except TimeoutError:
            continue


def _basic_header(user: str, password: str) -> bytes:
    return b"Basic " + base64.b64encode(f"{user}:{password}".encode())


def _authorized(scope: Scope, expected: bytes) -> bool:
    given = next((value for name, value in scope.get("headers", []) if name.lower() == b"authorization"), b"")
    return hmac.compare_digest(given, expected)


async def _send_error(send: Send, status: int, error: str, field: str, message: str) -> None:
    """The gateway's error shape: ``{"error": ..., "errors": [{"field": ..., "message": ...}]}``."""
    await send_json(send, status, {"error": error, "errors": [{"field": field, "message": message}]})


@dataclass(frozen=True)
class _Filters:
    alertname: str | None = None
    status: str | None = None
    since: float | None = None


def _parse_filters(query_string: bytes) -> _Filters:
    try:
        params = parse_qs(query_string.decode())
    except UnicodeDecodeError:
        raise _QueryError("query", "not UTF-8") from None
    unknown = sorted(set(params) - set(QUERY_FILTERS))
    if unknown:
        raise _QueryError(unknown[0], f"unknown filter; use {', '.join(QUERY_FILTERS)}")
    status = params["status"][-1] if "status" in params else None
    if status is not None and status not in ALERT_STATUSES:
        raise _QueryError("status", f"expected one of {', '.join(ALERT_STATUSES)}, got {status!r}")
    since: float | None = None
    if "since" in params:
        raw = params["since"][-1]
        try:
            since = float(raw)
        except ValueError:
            since = math.nan
        if not math.isfinite(since):
            raise _QueryError("since", f"expected a Unix time in seconds, got {raw!r}")
    alertname = params["alertname"][-1] if "alertname" in params else None
    return _Filters(alertname=alertname, status=status, since=since)


async def serve(settings: Settings) -> None:
    """Receive alerts until SIGTERM."""
    store = NotificationStore(settings.state_dir / "receiver" / "notifications.jsonl")
    loaded = store.load()
    log.info("notifications_loaded", path=str(store.path), count=loaded)
    metrics = ReceiverMetrics()
    watch = WatchdogWatch(started_at=time.time(), default_interval_s=settings.watchdog_interval_s)
    password = read_stack_secret(settings.state_dir, RECEIVER_SECRET) if settings.web_secured else None
    app = build_app(store, metrics, watchdog=watch, password=password)

    async def wait_for_stop(stop: asyncio.Event) -> None:
        await watch_watchdog(watch, metrics, stop)

    try:
        await run_service(SERVICE, app, settings.host, settings.port(SERVICE), wait_for_stop)
    finally:
        store.close()


def main() -> None:
    settings = load_settings()
    configure_logging(SERVICE, settings.log_level)
    asyncio.run(serve(settings))
