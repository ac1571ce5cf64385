"""One workflow per signal, its state in Redis, and exactly one decision for it.

Keys:

* ``at:wf:<signal_id>``       hash: ``signal`` and ``op:<agent_type>`` (JSON), expires after a day
* ``at:wf:deadlines``         sorted set: signal_id -> time the orchestrator decides without the rest
* ``at:decision:<signal_id>`` the decision (JSON); written once, by :data:`_CLAIM_SCRIPT`
* ``at:decisions:outbox``     decisions recorded but not yet acknowledged by JetStream
* ``at:positions``            hash: instrument -> signed paper units (what the risk agent reads)

The claim is one Lua script: it writes the decision only if none exists, removes the
deadline, queues the decision for publishing and moves the paper ledger, atomically.
So a redelivered signal or opinion, two racing tasks or a restart can never produce a
second decision, and a crash between the claim and the publish is repaired by
re-publishing the outbox (JetStream deduplicates on the signal id).
"""

from __future__ import annotations

import redis.asyncio as aioredis

from agentic_trading.opinions import Opinion
from agentic_trading.orchestrator.decision import Decision
from agentic_trading.signals import Signal

WORKFLOW_TTL_S = 24 * 3600
DECISION_TTL_S = 7 * 24 * 3600
DEADLINES_KEY = "at:wf:deadlines"
OUTBOX_KEY = "at:decisions:outbox"
POSITIONS_KEY = "at:positions"

# KEYS: decision, deadlines, outbox, positions, workflow
# ARGV: decision json, signal id, ttl, instrument, position delta
_CLAIM_SCRIPT = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[3]) then
  redis.call('ZREM', KEYS[2], ARGV[2])
  redis.call('RPUSH', KEYS[3], ARGV[2])
  if tonumber(ARGV[5]) ~= 0 then
    redis.call('HINCRBYFLOAT', KEYS[4], ARGV[4], ARGV[5])
  end
  redis.call('EXPIRE', KEYS[5], 300)
  return 1
end
return 0
"""


def workflow_key(signal_id: str) -> str:
    return f"at:wf:{signal_id}"


def decision_key(signal_id: str) -> str:
    return f"at:decision:{signal_id}"


class WorkflowStore:
    """The orchestrator's Redis state."""

    def __init__(self, redis: aioredis.Redis):
        self.redis = redis
        self._claim = redis.register_script(_CLAIM_SCRIPT)

    async def is_decided(self, signal_id: str) -> bool:
        return bool(await self.redis.exists(decision_key(signal_id)))

    async def record_signal(self, signal: Signal, deadline: float) -> dict[bytes, bytes]:
        """Store the signal and its deadline; return everything known of the workflow."""
        key = workflow_key(signal.signal_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(key, "signal", signal.to_json())
            pipe.expire(key, WORKFLOW_TTL_S)
            pipe.zadd(DEADLINES_KEY, {signal.signal_id: deadline}, nx=True)
            pipe.hgetall(key)
            results = await pipe.execute()
        return results[-1]

    async def record_opinion(self, opinion: Opinion) -> dict[bytes, bytes]:
        key = workflow_key(opinion.signal_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, f"op:{opinion.agent_type}", opinion.to_json())
            pipe.expire(key, WORKFLOW_TTL_S)
            pipe.hgetall(key)
            results = await pipe.execute()
        return results[-1]

    async def load(self, signal_id: str) -> dict[bytes, bytes]:
        return await self.redis.hgetall(workflow_key(signal_id))

    async def due(self, now: float, limit: int = 200) -> list[str]:
        ids = await self.redis.zrangebyscore(DEADLINES_KEY, "-inf", now, start=0, num=limit)
        return [i.decode() for i in ids]

    async def drop_deadline(self, signal_id: str) -> None:
        await self.redis.zrem(DEADLINES_KEY, signal_id)

    async def open_count(self) -> int:
        return int(await self.redis.zcard(DEADLINES_KEY))

    async def claim(self, decision: Decision) -> bool:
        """Record the decision if it is the first for its signal (see module docstring)."""
        won = await self._claim(
            keys=[
                decision_key(decision.signal_id),
                DEADLINES_KEY,
                OUTBOX_KEY,
                POSITIONS_KEY,
                workflow_key(decision.signal_id),
            ],
            args=[decision.to_json(), decision.signal_id, DECISION_TTL_S, decision.instrument, decision.position_delta],
        )
        return bool(won)

    async def outbox(self, limit: int = 500) -> list[str]:
        return [i.decode() for i in await self.redis.lrange(OUTBOX_KEY, 0, limit - 1)]

    async def decision(self, signal_id: str) -> Decision | None:
        raw = await self.redis.get(decision_key(signal_id))
        return Decision.from_json(raw) if raw else None

    async def mark_published(self, signal_id: str) -> None:
        await self.redis.lrem(OUTBOX_KEY, 1, signal_id)


def parse_workflow(fields: dict[bytes, bytes]) -> tuple[Signal | None, dict[str, Opinion]]:
    signal: Signal | None = None
    opinions: dict[str, Opinion] = {}
    for name, value in fields.items():
        if name == b"signal":
            signal = Signal.from_json(value)
        elif name.startswith(b"op:"):
            opinion = Opinion.from_json(value)
            opinions[opinion.agent_type] = opinion
    return signal, opinions
