"""When the gateway says it is ready (``/readyz``): connected, and far enough from every limit.

Not ready before either store refuses writes (``capacity.py``: 90 % of its limit), nor once
the pipeline is so far behind that decisions will miss their deadline (the signal backlog).
A load balancer then sends webhooks elsewhere, and an operator sees which check failed.
With several workers (``AT_GATEWAY_WORKERS``) the answering worker also checks that every
worker holds its NATS connection (``workers.py``), so one answer holds for the whole gateway.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentic_trading import bus
from agentic_trading.capacity import redis_headroom, stream_headroom
from agentic_trading.gateway.workers import connected_workers
from agentic_trading.service.http import run_readiness

if TYPE_CHECKING:
    from agentic_trading.gateway.app import Gateway


async def readiness_checks(gateway: Gateway) -> dict[str, str]:
    """Each check's result, ``"ok"`` or what is wrong."""

    async def nats_ready() -> str | None:
        if gateway.nc is None or not gateway.nc.is_connected:
            return f"not connected to NATS at {gateway.settings.nats_url}"
        return None

    async def redis_ready() -> str | None:
        assert gateway.redis is not None
        await gateway.redis.ping()
        return None

    async def signals_stream() -> str | None:
        if gateway.js is None:
            return "not connected to JetStream yet"
        return await stream_headroom(gateway.js, bus.SIGNALS_STREAM)

    async def redis_memory() -> str | None:
        assert gateway.redis is not None
        return await redis_headroom(gateway.redis)

    async def signal_backlog() -> str | None:
        return await gateway.backlog.readiness(gateway.nc)

    async def workers() -> str | None:
        # Several workers share the port and one of them answers: it speaks for all of them.
        assert gateway.metrics_dir is not None
        expected = gateway.settings.gateway_workers
        connected, alive = connected_workers(gateway.metrics_dir)
        if connected < expected:
            return f"{connected} of {expected} workers connected to NATS ({alive} alive)"
        return None

    # Not ready before either store refuses writes (capacity.py): 90 % of its limit; nor
    # once the pipeline is so far behind that decisions will miss their deadline.
    checks = {
        "nats": nats_ready,
        "redis": redis_ready,
        "signals_stream": signals_stream,
        "signal_backlog": signal_backlog,
        "redis_memory": redis_memory,
    }
    if gateway.metrics_dir is not None:
        checks["workers"] = workers
    return await run_readiness(checks)
