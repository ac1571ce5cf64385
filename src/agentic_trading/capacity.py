"""How full the two stores are, and the ladder that warns before either refuses a write.

Both stores are bounded and refuse writes when full rather than losing data: the SIGNALS
stream (``discard: new``, ``bus.STREAM_LIMITS``) and Redis (``maxmemory`` with
``noeviction``). So that nobody learns it from a refusal:

* at 80 % an alert fires (``NATSStreamNearlyFull``, ``RedisMemoryNearlyFull``);
* at :data:`NOT_READY_FULLNESS` (90 %) the gateway's and the orchestrator's ``/readyz``
  answer 503 (a load balancer stops sending, a deploy waits);
* at 100 % the store refuses: the gateway answers 503 ``stream_full`` and stores nothing,
  the orchestrator naks and retries the batch (the signal stays on SIGNALS).

The judgements are pure; the two probes do one round trip each.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import redis.asyncio as aioredis
from nats.js import JetStreamContext

NOT_READY_FULLNESS = 0.9


def fullness_problem(what: str, used: int, limit: int, threshold: float = NOT_READY_FULLNESS) -> str | None:
    """What is wrong when ``used`` is at or past ``threshold`` of ``limit`` (None when fine or unbounded)."""
    if limit <= 0 or used < threshold * limit:
        return None
    return f"{what} is {used / limit:.0%} full ({used} of {limit} bytes); writes are refused at 100 %"


def redis_memory(info: Mapping[str, Any]) -> tuple[int, int]:
    """(used_memory, maxmemory) from ``INFO memory``; maxmemory 0 means unbounded."""
    return int(info.get("used_memory", 0)), int(info.get("maxmemory", 0))


async def stream_headroom(js: JetStreamContext, stream: str) -> str | None:
    """A readiness check: None while ``stream`` is under 90 % of its max_bytes."""
    info = await js.stream_info(stream)
    assert info.state is not None and info.config is not None
    return fullness_problem(f"JetStream stream {stream}", info.state.bytes, info.config.max_bytes or 0)


async def redis_headroom(redis: aioredis.Redis) -> str | None:
    """A readiness check: None while Redis uses under 90 % of its maxmemory."""
    used, limit = redis_memory(await redis.info("memory"))
    return fullness_problem("Redis memory", used, limit)
