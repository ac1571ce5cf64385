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

The claim is one Lua script (one call per batch of decisions): for each it writes the
decision only if none exists, removes the deadline, queues the decision for publishing and
moves the paper ledger, atomically. A claim
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

from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.commands.core import AsyncScript
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

# Each script handles a whole batch in one call: a pipeline of one EVALSHA per message cost
# redis-py a command to pack, a reply to read and a timeout context each, a third of the
# orchestrator's CPU at 800 signals/s (docs/benchmarks.md, "Fifth pass"). Items are handled in
# order, exactly as the per-message calls were, and a batch is now atomic as well.

# Claim decisions: write each only if none exists, remove its deadline, queue it for
# publishing and move the paper ledger. Returns 1 per decision that won, 0 per one that lost.
# KEYS: deadlines, outbox, positions, then per decision: decision, workflow
# ARGV: decision ttl, then one JSON array holding per decision [decision json, signal id,
# instrument, position delta (as text)]
_CLAIM_SCRIPT = """
local won = {}
local items = cjson.decode(ARGV[2])
for i = 1, (#KEYS - 3) / 2 do
  local decision, workflow = KEYS[2 * i + 2], KEYS[2 * i + 3]
  local item = items[i]
  local json, signal_id, instrument, delta = item[1], item[2], item[3], item[4]
  if redis.call('SET', decision, json, 'NX', 'EX', ARGV[1]) then
    redis.call('ZREM', KEYS[1], signal_id)
    redis.call('RPUSH', KEYS[2], signal_id)
    if tonumber(delta) ~= 0 then
      redis.call('HINCRBYFLOAT', KEYS[3], instrument, delta)
    end
    redis.call('EXPIRE', workflow, 300)
    won[i] = 1
  else
    -- Decided already: a deadline left for it would be swept (and lost) every round for ever.
    redis.call('ZREM', KEYS[1], signal_id)
    won[i] = 0
  end
end
return won
"""


# Record each message's part of its workflow, unless its signal is decided already.
# KEYS: deadlines, then per part: decision, workflow, correlation index
# ARGV: workflow ttl, index ttl, fields that make a hash whole, then one JSON array holding per
# part [field, json, deadline ('' for an opinion), signal id]
# Returns per part 0 when decided, else the workflow hash (HGETALL) after the write if it has
# that many fields, else only its field count.
_RECORD_SCRIPT = """
local out = {}
local whole = tonumber(ARGV[3])
local items = cjson.decode(ARGV[4])
for i = 1, (#KEYS - 1) / 3 do
  local decision, workflow, index = KEYS[3 * i - 1], KEYS[3 * i], KEYS[3 * i + 1]
  local item = items[i]
  local field, json, deadline, signal_id = item[1], item[2], item[3], item[4]
  if redis.call('EXISTS', decision) == 1 then
    out[i] = 0
  else
    if deadline ~= '' then
      redis.call('HSETNX', workflow, field, json)
      redis.call('ZADD', KEYS[1], 'NX', deadline, signal_id)
      redis.call('SET', index, signal_id, 'EX', ARGV[2])
    else
      redis.call('HSET', workflow, field, json)
    end
    redis.call('EXPIRE', workflow, ARGV[1])
    local count = redis.call('HLEN', workflow)
    if count >= whole then
      out[i] = redis.call('HGETALL', workflow)
    else
      out[i] = count
    end
  end
end
return out
"""


# Published: off the outbox, and each decision replaced by its marker, keeping the TTL. The
# marker keeps what `atctl trace` needs to find the signal's log lines (ids, outcome, when).
# KEYS: outbox, then per signal: decision. ARGV: per signal: signal id
_SHRINK_SCRIPT = """
for i = 2, #KEYS do
  redis.call('LREM', KEYS[1], 1, ARGV[i - 1])
  local raw = redis.call('GET', KEYS[i])
  if raw and string.sub(raw, 1, 1) == '{' then
    local d = cjson.decode(raw)
    if d['signal_id'] then
      redis.call('SET', KEYS[i], cjson.encode({correlation_id = d['correlation_id'], decision = d['decision'],
        status = d['status'], decided_at = d['decided_at'], latency_s = d['latency_s']}), 'KEEPTTL')
    end
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

    async def record(
        self, parts: list[Signal | Opinion], deadline_s: float, *, whole_at: int = 1
    ) -> list[dict[bytes, bytes] | None]:
        """Record a batch of signals and opinions in one round trip.

        For each part: None when its signal is decided already (a redelivery or a late opinion),
        otherwise everything known of its workflow after the write, if that is at least
        ``whole_at`` fields, else an empty dict (recorded, not yet whole). The orchestrator asks
        only for whole workflows: four of a signal's five parts then cost Redis a field count
        instead of a growing hash, and the orchestrator no reply to read and turn into a dict.
        """
        if not parts:
            return []
        keys: list[str] = [DEADLINES_KEY]
        items: list[tuple[str, str, str, str]] = []
        for part in parts:
            if isinstance(part, Signal):
                field, deadline = "signal", str(part.received_at + deadline_s)
            else:
                field, deadline = f"op:{part.agent_type}", ""
            keys += [decision_key(part.signal_id), workflow_key(part.signal_id), correlation_key(part.correlation_id)]
            items.append((field, part.to_json().decode(), deadline, part.signal_id))
        # The per-part values as one argument: redis-py packs and encodes each argument in Python
        # (13 % of the orchestrator at 900 signals/s with four per part); Lua's cjson unpacks them.
        args = [WORKFLOW_TTL_S, DECISION_TTL_S, whole_at, orjson.dumps(items)]
        results = await self._eval(self._record, keys, args)
        return [None if r == 0 else {} if isinstance(r, int) else _as_hash(r) for r in results]

    async def _eval(self, script: AsyncScript, keys: list[str], args: list[Any]) -> Any:
        """One EVALSHA (one round trip), loading the scripts first if Redis does not know them.

        redis-py's script objects ask SCRIPT EXISTS before every call in a pipeline: a second
        round trip per batch. Here the SHA is sent directly; only when Redis does not know it (a
        restart flushed its script cache) are the scripts loaded and the call sent again, which is
        safe because a NOSCRIPT call ran nothing.
        """
        for attempt in range(2):
            try:
                return await self.redis.evalsha(script.sha, len(keys), *keys, *args)
            except NoScriptError:
                if attempt:
                    raise
            for known in (self._record, self._claim, self._shrink):
                known.sha = await self.redis.script_load(known.script)
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

        if not decisions:
            return []
        keys = [DEADLINES_KEY, OUTBOX_KEY, POSITIONS_KEY]
        items: list[tuple[str, str, str, str]] = []
        for decision in decisions:
            keys += [decision_key(decision.signal_id), workflow_key(decision.signal_id)]
            # The delta as redis-py sent a float (repr), so HINCRBYFLOAT adds exactly the same.
            items.append((decision.to_json().decode(), decision.signal_id, decision.instrument, repr(decision.position_delta)))
        won = await self._eval(self._claim, keys, [DECISION_TTL_S, orjson.dumps(items)])
        return [bool(w) for w in won]

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

        if not signal_ids:
            return
        keys = [OUTBOX_KEY, *(decision_key(signal_id) for signal_id in signal_ids)]
        await self._eval(self._shrink, keys, list(signal_ids))


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
