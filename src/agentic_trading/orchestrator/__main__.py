"""``python -m agentic_trading.orchestrator``: the orchestrator process."""

from __future__ import annotations

import uvloop

from agentic_trading import bus
from agentic_trading.capacity import redis_headroom, stream_headroom
from agentic_trading.orchestrator.service import Orchestrator
from agentic_trading.redis_client import connect_redis
from agentic_trading.service.http import ServiceApp
from agentic_trading.service.runtime import run_service
from agentic_trading.settings import load_settings
from agentic_trading.telemetry.logging import configure_logging
from agentic_trading.telemetry.metrics import OrchestratorMetrics


async def main() -> None:
    settings = load_settings()
    configure_logging("orchestrator", settings.log_level)
    metrics = OrchestratorMetrics()
    redis = connect_redis(settings, "orchestrator")
    nc = await bus.connect(settings, "orchestrator")

    async def nats_ready() -> str | None:
        return None if nc.is_connected else f"not connected to NATS at {settings.nats_url}"

    async def redis_ready() -> str | None:
        await redis.ping()
        return None

    js = nc.jetstream(timeout=1.0)
    readiness = {
        "nats": nats_ready,
        "redis": redis_ready,
        # Not ready before either store refuses writes (capacity.py).
        "redis_memory": lambda: redis_headroom(redis),
        "opinions_stream": lambda: stream_headroom(js, bus.OPINIONS_STREAM),
    }
    app = ServiceApp("orchestrator", metrics.registry, readiness=readiness)
    orchestrator = Orchestrator(settings, nc, redis, metrics)
    try:
        await run_service("orchestrator", app, settings.host, settings.port("orchestrator"), orchestrator.run)
    finally:
        await nc.drain()
        await redis.aclose()


if __name__ == "__main__":
    uvloop.run(main())
