"""One workflow per signal, its state in Redis, and exactly one decision for it.

Keys:

* ``at:wf:<signal_id>``       hash: ``signal`` and ``op:<agent_type>`` (JSON), expires after a day
* ``at:wf:deadlines``         sorted set: signal_id -> time the orchestrator decides without the rest
* ``at:decision:<signal_id>`` the decision (JSON); written once, by :data:`_CLAIM_SCRIPT`;
  once published, shrunk to a marker ``{"correlation_id", "decision"}`` (:data:`_SHRINK_SCRIPT`)
* ``at:decisions:outbox``     decisions recorded but not yet acknowledged by JetStream
* ``at:positions``            hash: instrument -> signed paper units (what the risk agent reads)
* ``at:correlation:<id>``     the signal id of a correlation id, written with the signal's part
  (``atctl trace`` finds a signal by either id without reading whole logs)

The claim is one Lua script: it writes the decision only if none exists, removes the
deadline, queues the decision for publishing and moves the paper ledger, atomically. A claim
that loses removes the deadline too: a deadline that outlived its signal's decision would
otherwise be loaded, decided and lost by the sweeper every 50 ms for ever.
So a redelivered signal or opinion, two racing tasks or a restart can never produce a
second decision, and a crash between the claim and the publish is repaired by
re-publishing the outbox (JetStream deduplicates on the signal id).

Retention (``docs/architecture.md``, "Capacity"): Redis holds what deciding needs, not the
record. The 7-day record of decisions is the DECISIONS stream (on disk). The marker lives
:data:`DECISION_TTL_S`, as long as a message of the signal can still arrive (SIGNALS keeps an
unacknowledged signal 24 h), so a late redelivery or a retry after the dedup window is never
decided twice; at about 120 bytes a signal, 256 MB holds two million signals a day.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.exceptions import NoScriptError

from agentic_trading.opinions import Opinion
from agentic_trading.orchestrator.decision import Decision
from agentic_trading.redis_keys import (
    DEADLINES_KEY,
    OUTBOX_KEY,
    POSITIONS_KEY,
    correlation_key,
    decision_key,
    workflow_key,
)
from agentic_trading.signals import Signal

WORKFLOW_TTL_S = 24 * 3600
DECISION_TTL_S = 24 * 3600

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
-- Decided already: a deadline left for it would be swept (and lost) every round for ever.
redis.call('ZREM', KEYS[2], ARGV[2])
return 0
"""


# Record one message's part of a workflow, unless the signal is decided already.
# KEYS: decision, workflow, deadlines, correlation index
# ARGV: field, json, ttl, deadline ('' for an opinion), signal id, index ttl
# Returns 0 when decided, else the workflow hash (HGETALL) after the write.
_RECORD_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
if ARGV[4] ~= '' then
  redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2])
  redis.call('ZADD', KEYS[3], 'NX', ARGV[4], ARGV[5])
  redis.call('SET', KEYS[4], ARGV[5], 'EX', ARGV[6])
else
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
end
redis.call('EXPIRE', KEYS[2], ARGV[3])
return redis.call('HGETALL', KEYS[2])
"""


# KEYS: decision. Replace a published decision by its marker, keeping the TTL. The marker keeps
# what `atctl trace` needs to find the signal's log lines (ids, outcome, when).
_SHRINK_SCRIPT = """
local raw = redis.call('GET', KEYS[1])
if raw and string.sub(raw, 1, 1) == '{' then
  local d = cjson.decode(raw)
  if d['signal_id'] then
    redis.call('SET', KEYS[1], cjson.encode({correlation_id = d['correlation_id'], decision = d['decision'],
      status = d['status'], decided_at = d['decided_at'], latency_s = d['latency_s']}), 'KEEPTTL')
  end
end
return 0
"""


class WorkflowStore:
    """The orchestrator's Redis state."""

    def __init__(self, redis: aioredis.Redis):
        self.redis = redis
        self._claim = redis.register_script(_CLAIM_SCRIPT)
        self._record = redis.register_script(_RECORD_SCRIPT)
        self._shrink = redis.register_script(_SHRINK_SCRIPT)

    async def is_decided(self, signal_id: str) -> bool:
        return bool(await self.redis.exists(decision_key(signal_id)))

    async def record(self, parts: list[Signal | Opinion], deadline_s: float) -> list[dict[bytes, bytes] | None]:
        """Record a batch of signals and opinions in one round trip.

        For each part: None when its signal is decided already (a redelivery or a late opinion),
        otherwise everything known of its workflow after the write.
        """

        def fill(pipe: Pipeline) -> None:
            for part in parts:
                if isinstance(part, Signal):
                    field, deadline = "signal", str(part.received_at + deadline_s)
                else:
                    field, deadline = f"op:{part.agent_type}", ""
                keys = [
                    decision_key(part.signal_id),
                    workflow_key(part.signal_id),
                    DEADLINES_KEY,
                    correlation_key(part.correlation_id),
                ]
                args = [field, part.to_json(), WORKFLOW_TTL_S, deadline, part.signal_id, DECISION_TTL_S]
                pipe.evalsha(self._record.sha, len(keys), *keys, *args)

        results = await self._run_scripts(fill)
        return [_as_hash(r) if r != 0 else None for r in results]

    async def _run_scripts(self, fill: Callable[[Pipeline], None]) -> list[Any]:
        """One pipelined round trip of EVALSHA calls.

        redis-py's script objects in a pipeline ask SCRIPT EXISTS before every execute: a second
        round trip per batch. Here the SHA is sent directly; only when Redis does not know it (a
        restart flushed its script cache) are the scripts loaded and the pipeline sent again, which
        is safe because a NOSCRIPT pipeline ran none of its calls' scripts.
        """
        for attempt in range(2):
            async with self.redis.pipeline(transaction=False) as pipe:
                fill(pipe)
                try:
                    return await pipe.execute()
                except NoScriptError:
                    if attempt:
                        raise
            for script in (self._record, self._claim, self._shrink):
                script.sha = await self.redis.script_load(script.script)
        raise AssertionError("unreachable")

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
        return (await self.claim_all([decision]))[0]

    async def claim_all(self, decisions: list[Decision]) -> list[bool]:
        """Claim a batch of decisions in one round trip; True where this one was the first."""

        def fill(pipe: Pipeline) -> None:
            for decision in decisions:
                keys = [
                    decision_key(decision.signal_id),
                    DEADLINES_KEY,
                    OUTBOX_KEY,
                    POSITIONS_KEY,
                    workflow_key(decision.signal_id),
                ]
                args = [decision.to_json(), decision.signal_id, DECISION_TTL_S, decision.instrument, decision.position_delta]
                pipe.evalsha(self._claim.sha, len(keys), *keys, *args)

        return [bool(won) for won in await self._run_scripts(fill)]

    async def outbox(self, limit: int = 500) -> list[str]:
        return [i.decode() for i in await self.redis.lrange(OUTBOX_KEY, 0, limit - 1)]

    async def decision(self, signal_id: str) -> Decision | None:
        """The decision while it waits to be published; None once only its marker is left."""
        raw = await self.redis.get(decision_key(signal_id))
        if not raw or b'"signal_id"' not in raw:
            return None
        return Decision.from_json(raw)

    async def mark_published(self, *signal_ids: str) -> None:
        """Off the outbox, and the decision shrunk to its marker (what Redis keeps for a day)."""

        def fill(pipe: Pipeline) -> None:
            for signal_id in signal_ids:
                pipe.lrem(OUTBOX_KEY, 1, signal_id)
                pipe.evalsha(self._shrink.sha, 1, decision_key(signal_id))

        await self._run_scripts(fill)


def _as_hash(flat: list[bytes]) -> dict[bytes, bytes]:
    """A Lua HGETALL reply (a flat list) as a dict."""
    return dict(zip(flat[0::2], flat[1::2], strict=True))


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
