"""``python -m agentic_trading.dashboards``: the viewer as a program of the local stack.

Reads the dashboards once at start (a broken file stops it with the file and line), refuses
to listen off loopback without ``AT_DASHBOARDS_PASSWORD``, and serves until SIGTERM.
"""

from __future__ import annotations

import asyncio
import sys

from agentic_trading.dashboards.app import SERVICE, DashboardsApp
from agentic_trading.dashboards.auth import Sessions, password_required
from agentic_trading.dashboards.library import default_dashboards_dir, read_dashboards
from agentic_trading.dashboards.proxy import PrometheusProxy
from agentic_trading.errors import AgenticTradingError
from agentic_trading.service.runtime import run_service
from agentic_trading.settings import Settings, load_settings
from agentic_trading.telemetry.logging import configure_logging, get_logger
from agentic_trading.web_access import web_client_options

log = get_logger(__name__)


class DashboardsConfigError(AgenticTradingError):
    """The viewer cannot start as configured."""

    exit_code = 2


def build_viewer(settings: Settings) -> DashboardsApp:
    """The app for ``settings``: its dashboards, its Prometheus, its password."""
    password = settings.dashboards_password.get_secret_value() if settings.dashboards_password else None
    if password is None and password_required(settings.host):
        raise DashboardsConfigError(
            f"the dashboards would listen on {settings.host} (off loopback) without a password: "
            "set AT_DASHBOARDS_PASSWORD, or AT_HOST=127.0.0.1 (docs/security.md)"
        )
    dashboards = read_dashboards(settings.dashboards_dir or default_dashboards_dir())
    proxy = PrometheusProxy(settings.url("prometheus"), http_options=web_client_options(settings))
    return DashboardsApp(dashboards, proxy, Sessions(password))


async def serve(settings: Settings) -> None:
    app = build_viewer(settings)
    log.info(
        "dashboards_loaded",
        uids=list(app.dashboards),
        prometheus=app.proxy.base_url,
        password=not app.sessions.anonymous,
    )

    async def wait_for_stop(stop: asyncio.Event) -> None:
        await stop.wait()

    try:
        await run_service(SERVICE, app, settings.host, settings.port(SERVICE), wait_for_stop)
    finally:
        await app.proxy.close()


def main() -> None:
    settings = load_settings()
    configure_logging(SERVICE, settings.log_level)
    try:
        asyncio.run(serve(settings))
    except AgenticTradingError as exc:
        log.error("dashboards_refused_to_start", error=str(exc))
        print(f"dashboards: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
