"""The agents' Redis state: per-instrument histories and the paper position ledger.

Keys (values are UTF-8 strings; their names are built in :mod:`agentic_trading.redis_keys`):

* ``at:prices:<instrument>``       list, momentum agent: the last 50 ``"<signal_id> <price>"``
* ``at:sentiment:<instrument>``    list, sentiment agent: the last 20 ``"<signal_id> <action>"``
* ``at:corr:prices:<instrument>``  list, correlation agent: the last 31 ``"<signal_id> <price>"``
* ``at:agent:<type>:seen:<signal_id>``  marker that a signal's effect is recorded; expires
  after the JetStream deduplication window (``AT_DEDUP_WINDOW_S``)
* ``at:positions``                 hash instrument -> signed paper units, written by the
  orchestrator, read by the risk and correlation agents

Histories keep the signal id beside each value, so an agent can leave a redelivered
signal's own entry out of its judgement. Lists expire a week after their last write,
so an instrument nobody trades any more does not stay in Redis forever.

Recording is idempotent: :data:`_RECORD_SCRIPT` sets the seen marker with ``NX`` and
appends only when it was absent, atomically, so a redelivered message never counts
twice within the window in which JetStream could redeliver it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError

from agentic_trading.redis_keys import POSITIONS_KEY, seen_key

HISTORY_TTL_S = 7 * 24 * 3600
DEFAULT_SEEN_TTL_S = 120


# One call records a whole batch (one per item cost redis-py a command to pack and a reply to
# read each; docs/benchmarks.md, "Fifth pass"); items are handled in order. Returns how many
# items were new.
# KEYS: per item: seen marker, history list. ARGV: seen ttl, entries kept, history ttl, then per item: entry.
_RECORD_SCRIPT = """
local new = 0
for i = 1, #KEYS / 2 do
  if redis.call('SET', KEYS[2 * i - 1], '1', 'NX', 'EX', ARGV[1]) then
    redis.call('RPUSH', KEYS[2 * i], ARGV[3 + i])
    redis.call('LTRIM', KEYS[2 * i], -tonumber(ARGV[2]), -1)
    redis.call('EXPIRE', KEYS[2 * i], ARGV[3])
    new = new + 1
  end
end
return new
"""

# Every named history in one command: a pipeline of one LRANGE per instrument cost redis-py a
# command to pack and a reply to parse each, and its pipeline machinery (reset, connection,
# shield) per batch: 15 % of the momentum agent at 900 signals/s (docs/benchmarks.md, "Sixth
# pass"). KEYS: the history lists. Returns their contents, in order.
_LOAD_SCRIPT = """
local out = {}
for i = 1, #KEYS do
  out[i] = redis.call('LRANGE', KEYS[i], 0, -1)
end
return out
"""


def encode_entry(signal_id: str, value: str) -> str:
    return f"{signal_id} {value}"


def decode_entry(raw: bytes | str) -> tuple[str, str]:
    text = raw.decode() if isinstance(raw, bytes) else raw
    signal_id, _, value = text.partition(" ")
    return signal_id, value


@dataclass
class Histories:
    """Per-instrument histories loaded for one batch, oldest first, as ``(signal_id, value)``."""

    entries: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def values(self, instrument: str, *, excluding: str | None = None) -> list[str]:
        """The values of an instrument's history, without the entry of signal ``excluding``."""
        return [v for sid, v in self.entries.get(instrument, []) if sid != excluding]

    def append(self, instrument: str, signal_id: str, value: str, keep: int) -> None:
        """Apply a recorded value in memory, as :meth:`HistoryStore.record` does in Redis."""
        history = self.entries.setdefault(instrument, [])
        if any(sid == signal_id for sid, _ in history):
            return
        history.append((signal_id, value))
        del history[:-keep]


class HistoryStore:
    """One agent's per-instrument lists in Redis."""

    def __init__(
        self,
        redis: aioredis.Redis,
        agent_type: str,
        key_for: Any,
        keep: int,
        *,
        seen_ttl_s: float = DEFAULT_SEEN_TTL_S,
    ):
        self.redis = redis
        self.agent_type = agent_type
        self.key_for = key_for
        self.keep = keep
        self.seen_ttl_s = max(1, int(seen_ttl_s))
        self._sha: str | None = None
        self._load_sha: str | None = None

    async def load(self, instruments: Iterable[str]) -> Histories:
        """Every named instrument's history, in one round trip (one script call)."""
        names = sorted(set(instruments))
        if not names:
            return Histories()
        keys = [self.key_for(name) for name in names]
        if self._load_sha is None:
            self._load_sha = await self.redis.script_load(_LOAD_SCRIPT)
        try:
            lists = await self.redis.evalsha(self._load_sha, len(keys), *keys)
        except NoScriptError:  # Redis restarted or its script cache was flushed; reading is safe to repeat
            self._load_sha = await self.redis.script_load(_LOAD_SCRIPT)
            lists = await self.redis.evalsha(self._load_sha, len(keys), *keys)
        return Histories({name: [decode_entry(raw) for raw in raw_list] for name, raw_list in zip(names, lists, strict=True)})

    async def record(self, items: Sequence[tuple[str, str, str]]) -> int:
        """Append ``(instrument, signal_id, value)`` items not recorded before; how many were new."""
        if not items:
            return 0
        if self._sha is None:
            self._sha = await self.redis.script_load(_RECORD_SCRIPT)
        keys: list[str] = []
        entries: list[str] = []
        for instrument, signal_id, value in items:
            keys += [seen_key(self.agent_type, signal_id), self.key_for(instrument)]
            entries.append(encode_entry(signal_id, value))
        args = [self.seen_ttl_s, self.keep, HISTORY_TTL_S, *entries]
        try:
            # EVALSHA directly: a registered Script would ask SCRIPT EXISTS first, a second round trip.
            return int(await self.redis.evalsha(self._sha, len(keys), *keys, *args))
        except NoScriptError:  # Redis restarted or its script cache was flushed; the call ran nothing
            self._sha = await self.redis.script_load(_RECORD_SCRIPT)
            return int(await self.redis.evalsha(self._sha, len(keys), *keys, *args))


async def load_positions(redis: aioredis.Redis) -> dict[str, float]:
    """The paper position ledger: instrument -> signed units (absent means flat)."""
    raw = await redis.hgetall(POSITIONS_KEY)
    return {_text(k): float(_text(v)) for k, v in raw.items()}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
