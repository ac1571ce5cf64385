"""``python -m agentic_trading.agents <momentum|risk|sentiment|correlation>``: one agent process.

HTTP ``/healthz``, ``/readyz`` (NATS connected and Redis answering) and ``/metrics`` on
``settings.port("agent-<type>")``; SIGTERM finishes the batch in hand, then exits.
"""

from __future__ import annotations

import asyncio
import sys

import uvloop

from agentic_trading import bus
from agentic_trading.agents import AgentRunner, build_agent
from agentic_trading.lean_jetstream import LeanJetStream
from agentic_trading.redis_client import connect_redis
from agentic_trading.service.http import ServiceApp
from agentic_trading.service.runtime import run_service
from agentic_trading.settings import AGENT_TYPES, load_settings
from agentic_trading.telemetry.logging import configure_logging
from agentic_trading.telemetry.metrics import AgentMetrics

USAGE = f"usage: python -m agentic_trading.agents <{'|'.join(AGENT_TYPES)}>"


async def serve(agent_type: str) -> None:
    settings = load_settings()
    component = f"agent-{agent_type}"
    configure_logging(component, settings.log_level)
    metrics = AgentMetrics(agent_type)
    redis = connect_redis(settings, component)
    nc = await bus.connect(settings, component)
    js = LeanJetStream(nc, timeout=2.0)

    async def nats_ready() -> str | None:
        return None if nc.is_connected else f"not connected to NATS at {settings.nats_url}"

    async def redis_ready() -> str | None:
        await redis.ping()
        return None

    runner = AgentRunner(build_agent(agent_type, redis, settings), js, metrics)

    async def work(stop: asyncio.Event) -> None:
        if await bus.ensure_streams_patiently(js, settings, stop):
            await runner.run(stop)

    app = ServiceApp(component, metrics.registry, readiness={"nats": nats_ready, "redis": redis_ready})
    try:
        await run_service(component, app, settings.host, settings.port(component), work)
    finally:
        await nc.drain()
        await redis.aclose()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in AGENT_TYPES:
        print(USAGE, file=sys.stderr)
        return 2
    uvloop.run(serve(args[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
