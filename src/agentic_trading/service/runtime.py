"""The life of a background service process: one loop, HTTP beside the work, drain on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable

from agentic_trading.errors import AgenticTradingError
from agentic_trading.service.http import ASGIApp, make_server
from agentic_trading.telemetry.logging import get_logger

log = get_logger(__name__)


class PortUnavailable(AgenticTradingError, RuntimeError):
    """The service's HTTP port could not be bound."""

    exit_code = 2


async def run_service(
    name: str,
    app: ASGIApp,
    host: str,
    port: int,
    work: Callable[[asyncio.Event], Awaitable[None]],
) -> None:
    """Serve ``app`` on host:port and run ``work(stop)`` until SIGTERM/SIGINT sets ``stop``.

    ``work`` must return soon after ``stop`` is set, having finished (or handed back)
    what it holds: that is the graceful drain.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = make_server(app, host, port)
    http_task = asyncio.create_task(server.serve(), name=f"{name}-http")
    while not server.started:
        if http_task.done():
            raise PortUnavailable(
                f"{name} could not listen on {host}:{port}: is another stack running there? "
                "(atctl status, or start this one with --port-offset)"
            )
        await asyncio.sleep(0.01)
    log.info("service_started", port=port)
    try:
        await work(stop)
    finally:
        server.should_exit = True
        await asyncio.wait_for(http_task, timeout=5)
        log.info("service_stopped")
