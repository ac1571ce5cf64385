"""The decision-latency objective's one clock: each accepted signal is counted once, when it falls due.

The objective asks "was every accepted signal decided within 2.5 s of its receipt?" (the 2 s
decision deadline plus the orchestrator's sweeper slack; ``docs/alerting.md``, "What the
decision-latency objective counts"). The gateway, which accepted the signal, answers it: it
keeps each new signal it stored in a :class:`DueLedger`, and :data:`CHECK_AFTER_S` after the
receipt it reads the signal's decision from Redis (one ``MGET`` per sweep for every signal due,
never a round trip per signal) and counts the signal in ``gateway_signals_due_total`` by
:func:`outcome`:

* ``on_time``: decided, and the decision's own latency is at most the deadline plus slack;
* ``late``: decided later, or not decided at all by the time it was checked;
* ``unverified``: Redis could not be read for :data:`GIVE_UP_AFTER_S` past its due time. Redis
  down means no decision can be recorded either, so this counts as bad: the objective burns
  *during* such an outage, not after it (a gateway cut off from Redis alone reads as bad too,
  and its ``/readyz`` says why).

Why here, and why one counter: both sides of the ratio are the same signal, counted by the same
process at the same moment and scraped in the same sample. When ``total`` came from the gateway
(receipt, ``offset 2s``) and ``good`` from the orchestrator (decision time), the two sides left a
window up to 2 s apart, so the end of every burst read as up to 78 % bad for 2 s and re-paged
after a real burn; two targets scraped at different moments would still differ by up to a scrape.
A paused, stopped or hung orchestrator decides nothing, and its signals still fall due here: the
objective burns during the outage. A gateway that restarts forgets the signals it had not yet
checked (at most :data:`CHECK_AFTER_S` of traffic): they leave good and total alike, which
cannot make the ratio worse.

:class:`DueLedger` and :func:`outcome` are pure; :class:`DueWatch` does the reading and counting.
It sleeps until the earliest signal falls due (at least :data:`SWEEP_INTERVAL_S` between sweeps,
so a busy gateway still reads many signals per ``MGET``), and with nothing pending until a
signal is added: an idle gateway never reads Redis for this.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from dataclasses import dataclass, field

import orjson
import redis.asyncio as aioredis
from prometheus_client import Counter
from redis.exceptions import RedisError

from agentic_trading.redis_keys import decision_key
from agentic_trading.telemetry.labels import LATE, ON_TIME, SIGNAL_DUE_OUTCOMES, UNVERIFIED
from agentic_trading.telemetry.logging import get_logger

log = get_logger("gateway")

# The outcomes (label values, defined below the services): see the module docstring.
OUTCOMES = SIGNAL_DUE_OUTCOMES

# The orchestrator decides an incomplete workflow at the deadline, on its sweeper's 50 ms tick
# and a Redis round trip later (2.0-2.1 s): that is the on-time answer it is built to give.
DEADLINE_SLACK_S = 0.5
# A decision's latency is stamped just before its claim reaches Redis: checking half a second
# after the on-time limit finds every on-time decision already written.
CHECK_MARGIN_S = 0.5
# With the default 2 s deadline: on time within 2.5 s, checked 3 s after receipt.
CHECK_AFTER_S = 2.0 + DEADLINE_SLACK_S + CHECK_MARGIN_S
# The shortest pause between sweeps: a signal is counted at most this long after it falls due.
SWEEP_INTERVAL_S = 0.1
# Signals read in one MGET; a larger backlog of due signals takes several in the same sweep.
READ_BATCH = 1000
# A failed read is retried on the next sweeps; this long past its due time a signal is counted unverified.
GIVE_UP_AFTER_S = 1.0


@dataclass
class DueLedger:
    """Signals waiting for their due time, earliest first (pure: no clock, no I/O)."""

    check_after_s: float = CHECK_AFTER_S
    _heap: list[tuple[float, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self._heap)

    def add(self, signal_id: str, received_at: float) -> None:
        heapq.heappush(self._heap, (received_at + self.check_after_s, signal_id))

    def next_due(self) -> float | None:
        """When the earliest signal falls due; None when nothing is waiting."""
        return self._heap[0][0] if self._heap else None

    def take(self, now: float, limit: int = READ_BATCH) -> list[tuple[float, str]]:
        """Remove and return up to ``limit`` signals due at ``now``: (due time, signal id), earliest first."""
        taken: list[tuple[float, str]] = []
        while self._heap and self._heap[0][0] <= now and len(taken) < limit:
            taken.append(heapq.heappop(self._heap))
        return taken

    def give_back(self, entries: list[tuple[float, str]]) -> None:
        """Return signals whose decisions could not be read, to be read on the next sweep."""
        for entry in entries:
            heapq.heappush(self._heap, entry)


def outcome(raw: bytes | None, on_time_s: float) -> str:
    """A due signal's outcome from its decision key's value (the decision or its marker; None: absent)."""
    if raw is None:
        return LATE  # not decided by its due time, which is past the on-time limit
    try:
        latency = float(orjson.loads(raw)["latency_s"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return UNVERIFIED  # not a decision this version wrote: nothing says when it was taken
    return ON_TIME if latency <= on_time_s else LATE


def pause_before_next_sweep(next_due: float | None, now: float, min_pause_s: float = SWEEP_INTERVAL_S) -> float | None:
    """Seconds to sleep before the next sweep: until ``next_due``, but at least ``min_pause_s``; None: until woken.

    A signal given back after a failed read is already due: it is tried again ``min_pause_s`` later.
    """
    if next_due is None:
        return None
    return max(next_due - now, min_pause_s)


def given_up(entries: list[tuple[float, str]], now: float, give_up_after_s: float = GIVE_UP_AFTER_S) -> int:
    """How many of ``entries`` (earliest first) are past their due time by ``give_up_after_s``."""
    return sum(1 for due_at, _ in entries if now - due_at >= give_up_after_s)


class DueWatch:
    """Counts each accepted signal by its outcome once it falls due (see the module docstring)."""

    def __init__(self, counter: Counter, deadline_s: float):
        self.on_time_s = deadline_s + DEADLINE_SLACK_S
        self.ledger = DueLedger(self.on_time_s + CHECK_MARGIN_S)
        self._counts = {o: counter.labels(o) for o in OUTCOMES}
        self._added_to_idle = asyncio.Event()

    def accepted(self, signal_id: str, received_at: float) -> None:
        """A new signal was stored (not a retry): count it when it falls due.

        Only a signal added to an empty ledger wakes the watch: any other falls due after the
        one the watch already sleeps towards (receipt times only grow).
        """
        if not self.ledger:
            self._added_to_idle.set()
        self.ledger.add(signal_id, received_at)

    async def run(self, redis: aioredis.Redis) -> None:
        """Sweep when signals fall due, until cancelled."""
        while True:
            try:
                await self.sweep(redis, time.time())
            except Exception:  # noqa: BLE001 - a bug here must not stop the counting for good; logged
                log.exception("due_sweep_failed")
            await self.wait_for_due()

    async def wait_for_due(self) -> None:
        """Sleep until the earliest signal falls due, or until a signal is added to an empty ledger."""
        self._added_to_idle.clear()
        pause = pause_before_next_sweep(self.ledger.next_due(), time.time())
        try:  # woken by a new signal: the sweep finds nothing due (no read) and the next wait is timed
            await asyncio.wait_for(self._added_to_idle.wait(), timeout=pause)
        except TimeoutError:
            return

    async def sweep(self, redis: aioredis.Redis, now: float) -> dict[str, int]:
        """Count every signal due at ``now``; returns the counts by outcome (for the tests and logs)."""
        counted = dict.fromkeys(OUTCOMES, 0)
        while entries := self.ledger.take(now, READ_BATCH):
            try:
                raws = await redis.mget([decision_key(signal_id) for _, signal_id in entries])
            except (RedisError, OSError, TimeoutError) as exc:
                late = given_up(entries, now)
                self.ledger.give_back(entries[late:])
                counted[UNVERIFIED] += late
                if late:
                    log.warning("due_signals_unverified", signals=late, error=f"{type(exc).__name__}: {exc}")
                break
            for raw in raws:
                counted[outcome(raw, self.on_time_s)] += 1
        for name, n in counted.items():
            if n:
                self._counts[name].inc(n)
        return counted
