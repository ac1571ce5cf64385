"""The receiver's HTTP surface: ``POST /alerts`` from Alertmanager, ``GET /notifications`` for tests."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs

from agentic_trading.receiver.payload import ALERT_STATUSES, PayloadError, parse_webhook
from agentic_trading.receiver.store import NotificationStore
from agentic_trading.service.http import Receive, Scope, Send, ServiceApp, read_body, send_json
from agentic_trading.service.runtime import run_service
from agentic_trading.settings import Settings, load_settings
from agentic_trading.telemetry.logging import configure_logging, get_logger
from agentic_trading.telemetry.metrics import ReceiverMetrics

SERVICE = "receiver"
MAX_BODY_BYTES = 1024 * 1024
QUERY_FILTERS = ("alertname", "status", "since")

log = get_logger(__name__)


class _QueryError(PayloadError):
    """A query parameter that cannot be used: like a bad payload, answered 400 naming ``field``."""


def build_app(store: NotificationStore, metrics: ReceiverMetrics, clock: Callable[[], float] = time.time) -> ServiceApp:
    """The receiver as an ASGI app over ``store``; ``clock`` stamps ``received_at``."""

    async def receive_alerts(scope: Scope, receive: Receive, send: Send) -> None:
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

    return ServiceApp(
        SERVICE,
        metrics.registry,
        routes={("POST", "/alerts"): receive_alerts, ("GET", "/notifications"): list_notifications},
    )


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
    app = build_app(store, ReceiverMetrics())

    async def wait_for_stop(stop: asyncio.Event) -> None:
        await stop.wait()

    try:
        await run_service(SERVICE, app, settings.host, settings.port(SERVICE), wait_for_stop)
    finally:
        store.close()


def main() -> None:
    settings = load_settings()
    configure_logging(SERVICE, settings.log_level)
    asyncio.run(serve(settings))
