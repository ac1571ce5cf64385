"""How full the two stores are, and the ladder that warns before either refuses a write.

Both stores are bounded and refuse writes when full rather than losing data: the SIGNALS
stream (``discard: new``, ``bus.STREAM_LIMITS``) and Redis (``maxmemory`` with
``noeviction``). So that nobody learns it from a refusal:

* at 80 % an alert fires (``NATSStreamNearlyFull``, ``RedisMemoryNearlyFull``);
* at :data:`NOT_READY_FULLNESS` (90 %) the gateway's and the orchestrator's ``/readyz``
  answer 503 (a load balancer stops sending, a deploy waits);
* at 100 % the store refuses: the gateway answers 503 ``stream_full`` and stores nothing,
  the orchestrator naks and retries the batch (the signal stays on SIGNALS).

Fullness says "far behind" late; *age* says "behind" early. SIGNALS keeps a signal only until
every consumer acknowledged it (interest retention), so its first message is the oldest signal
some agent or the orchestrator has not finished, and its age is how far the slowest consumer
is behind. Past :data:`BACKLOG_SHARE` of the decision deadline (1 s of 2 s) the gateway's
``/readyz`` answers 503 and ``gateway_signal_backlog_seconds`` shows it, before decisions
start being taken at the deadline without an agent (``docs/architecture.md``, "Capacity").

The judgements are pure; the probes do one round trip each.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson
import redis.asyncio as aioredis
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from agentic_trading.errors import AgenticTradingError

NOT_READY_FULLNESS = 0.9
# Not ready once the oldest unfinished signal is older than this share of the decision deadline.
BACKLOG_SHARE = 0.5
_NO_MESSAGES_TS = "0001-01-01T00:00:00Z"  # what JetStream reports as first_ts of an empty stream


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


class CapacityProbeError(AgenticTradingError):
    """JetStream answered a probe with an error (the message says which stream and why)."""

    exit_code = 2


def backlog_problem(age_s: float, deadline_s: float, share: float = BACKLOG_SHARE) -> str | None:
    """What is wrong when the oldest unfinished signal is past ``share`` of the decision deadline."""
    if age_s <= share * deadline_s:
        return None
    return (
        f"the oldest signal not yet handled by every consumer is {age_s:.1f} s old (limit {share * deadline_s:g} s, "
        f"{share:.0%} of the {deadline_s:g} s decision deadline): the pipeline is over capacity"
    )


def first_message_age(stream_info: Mapping[str, Any], now: float) -> float:
    """Seconds since the stream's first message was stored (0 for an empty stream)."""
    state = stream_info.get("state", {})
    first_ts = state.get("first_ts") or _NO_MESSAGES_TS
    if not state.get("messages") or first_ts == _NO_MESSAGES_TS:
        return 0.0
    # RFC 3339 with nanoseconds: keep microseconds for fromisoformat.
    trimmed = re.sub(r"(\.\d{6})\d+", r"\1", first_ts).replace("Z", "+00:00")
    return max(0.0, now - datetime.fromisoformat(trimmed).timestamp())


async def stream_backlog_age(nc: NATS, stream: str, now: float, timeout_s: float = 1.0) -> float:
    """Age of ``stream``'s first message, from one raw STREAM.INFO request (nats-py drops ``first_ts``)."""
    reply = await nc.request(f"$JS.API.STREAM.INFO.{stream}", b"", timeout=timeout_s)
    info = orjson.loads(reply.data)
    if "error" in info:
        raise CapacityProbeError(f"stream info of {stream}: {info['error'].get('description', info['error'])}")
    return first_message_age(info, now)
