"""The decision-latency objective's one clock: each accepted signal counted once, when due, by outcome.

The ledger and the outcome are pure; the sweep reads real decisions from a real Redis, written
by the orchestrator's own WorkflowStore, so the marker the gateway parses is the one it writes.
"""

import asyncio
import contextlib
import time
from datetime import UTC, datetime

import orjson
import pytest
import redis.asyncio as aioredis

from _support import async_poll_until
from agentic_trading.gateway.due import (
    GIVE_UP_AFTER_S,
    LATE,
    ON_TIME,
    SWEEP_INTERVAL_S,
    UNVERIFIED,
    DueLedger,
    DueWatch,
    given_up,
    outcome,
    pause_before_next_sweep,
)
from agentic_trading.orchestrator.decision import decide
from agentic_trading.orchestrator.workflow import WorkflowStore
from agentic_trading.signals import Signal
from agentic_trading.telemetry.metrics import GatewayMetrics

DEADLINE_S = 2.0  # Settings.decision_deadline_s's default: on time within 2.5 s, checked at 3.0 s


def _signal(sid: str, received_at: float) -> Signal:
    return Signal(
        signal_id=sid,
        correlation_id=f"c-{sid}",
        instrument="EURUSD",
        action="buy",
        timestamp="2024-01-15T10:30:00Z",
        received_at=received_at,
    )


def _count(metrics: GatewayMetrics, name: str) -> float:
    return metrics.registry.get_sample_value("gateway_signals_due_total", {"outcome": name}) or 0.0


# -- the ledger and the outcome (pure) ---------------------------------------------------
def test_the_ledger_gives_signals_once_each_when_due_earliest_first_and_within_the_limit():
    ledger = DueLedger(check_after_s=3.0)
    ledger.add("b", received_at=101.0)
    ledger.add("a", received_at=100.0)
    ledger.add("c", received_at=102.0)

    assert ledger.take(now=102.9) == []  # nothing is due before receipt + 3 s
    assert ledger.take(now=104.5, limit=1) == [(103.0, "a")]
    assert ledger.take(now=104.5) == [(104.0, "b")]
    assert ledger.take(now=104.5) == []  # taken once
    assert len(ledger) == 1


def test_signals_given_back_are_taken_again_in_their_order():
    ledger = DueLedger(check_after_s=3.0)
    for sid, t in (("a", 100.0), ("b", 101.0)):
        ledger.add(sid, t)
    taken = ledger.take(now=200.0)
    ledger.give_back(taken)
    assert ledger.take(now=200.0) == taken == [(103.0, "a"), (104.0, "b")]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, LATE),  # not decided by its due time
        (orjson.dumps({"latency_s": 0.04}), ON_TIME),
        (orjson.dumps({"latency_s": 2.08}), ON_TIME),  # decided at the deadline without an agent: on time
        (orjson.dumps({"latency_s": 2.5}), ON_TIME),
        (orjson.dumps({"latency_s": 2.51}), LATE),
        (b"not json", UNVERIFIED),
        (orjson.dumps({"decision": "hold"}), UNVERIFIED),  # nothing says when it was taken
    ],
)
def test_the_outcome_is_the_decisions_own_latency_against_the_deadline_plus_slack(raw, expected):
    assert outcome(raw, on_time_s=DEADLINE_S + 0.5) == expected


def test_only_signals_past_their_due_time_by_the_grace_are_given_up():
    entries = [(100.0, "a"), (100.5, "b"), (101.0, "c")]
    assert given_up(entries, now=100.0 + GIVE_UP_AFTER_S) == 1
    assert given_up(entries, now=101.0 + GIVE_UP_AFTER_S) == 3


# -- the sweep, against a real Redis -----------------------------------------------------
@pytest.fixture
async def redis(redis_url):
    client = aioredis.from_url(redis_url)
    await client.flushdb()
    yield client
    await client.aclose()


async def test_a_sweep_counts_each_due_signal_once_by_its_decision_as_the_orchestrator_wrote_it(redis):
    store = WorkflowStore(redis)
    metrics = GatewayMetrics()
    watch = DueWatch(metrics.signals_due, DEADLINE_S)
    # a: decided in 0.2 s and published (only its marker is left); b: decided at the deadline,
    # still in the outbox; c: decided 2.7 s after receipt; d: never decided.
    for sid, latency in (("a", 0.2), ("b", 2.06), ("c", 2.7)):
        signal = _signal(sid, 100.0)
        assert await store.claim(decide(signal, {}, decided_at=100.0 + latency))
    await store.mark_published("a")
    assert b'"signal_id"' not in await redis.get("at:decision:a")  # the sweep reads the marker
    for sid in "abcd":
        watch.accepted(sid, 100.0)
    watch.accepted("e", 101.0)  # due at 104.0

    assert await watch.sweep(redis, now=102.9) == {ON_TIME: 0, LATE: 0, UNVERIFIED: 0}
    assert await watch.sweep(redis, now=103.05) == {ON_TIME: 2, LATE: 2, UNVERIFIED: 0}
    assert (_count(metrics, ON_TIME), _count(metrics, LATE)) == (2.0, 2.0)
    assert await watch.sweep(redis, now=103.1) == {ON_TIME: 0, LATE: 0, UNVERIFIED: 0}  # counted once
    assert len(watch.ledger) == 1  # e waits for its own due time


async def test_a_backlog_larger_than_one_read_is_counted_in_the_same_sweep(redis, monkeypatch):
    monkeypatch.setattr("agentic_trading.gateway.due.READ_BATCH", 3)
    metrics = GatewayMetrics()
    watch = DueWatch(metrics.signals_due, DEADLINE_S)
    for i in range(10):
        watch.accepted(f"s{i}", 100.0)
    assert await watch.sweep(redis, now=200.0) == {ON_TIME: 0, LATE: 10, UNVERIFIED: 0}
    assert len(watch.ledger) == 0


async def test_an_unreadable_redis_keeps_signals_for_the_grace_then_counts_them_unverified():
    """Redis down: no decision can be recorded either, so the objective must burn during the outage."""
    metrics = GatewayMetrics()
    watch = DueWatch(metrics.signals_due, DEADLINE_S)
    watch.accepted("a", 100.0)  # due at 103.0
    watch.accepted("b", 100.6)  # due at 103.6
    dead = aioredis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        assert await watch.sweep(dead, now=103.7) == {ON_TIME: 0, LATE: 0, UNVERIFIED: 0}
        assert len(watch.ledger) == 2  # kept: the next sweep may read them
        assert await watch.sweep(dead, now=103.0 + GIVE_UP_AFTER_S) == {ON_TIME: 0, LATE: 0, UNVERIFIED: 1}
        assert len(watch.ledger) == 1
    finally:
        await dead.aclose()
    assert _count(metrics, UNVERIFIED) == 1.0


# -- the gateway keeps every new signal it stored, and no retry ----------------------------
async def test_the_gateway_keeps_each_stored_signal_once_and_not_its_retries(make_gateway, client_for):
    gateway, js = make_gateway()
    client = client_for(gateway)
    body = {"instrument": "EURUSD", "action": "buy", "timestamp": datetime.now(UTC).isoformat()}

    first = await client.post("/webhook/tradingview", json=body, headers={"Idempotency-Key": "k1"})
    retry = await client.post("/webhook/tradingview", json=body, headers={"Idempotency-Key": "k1"})
    other = await client.post("/webhook/test", json=body, headers={"Idempotency-Key": "k2"})
    refused = await client.post("/webhook/tradingview", json={"action": "buy"})

    assert [r.status_code for r in (first, retry, other, refused)] == [200, 200, 200, 422]
    assert retry.json()["duplicate"] is True
    kept = sorted(sid for _, sid in gateway.publisher.due.ledger.take(now=float("inf")))
    assert kept == sorted([first.json()["signal_id"], other.json()["signal_id"]])


# -- the watch sleeps until a signal falls due, and reads nothing while idle ---------------
def test_the_pause_lasts_until_the_earliest_due_time_but_never_less_than_the_minimum():
    assert pause_before_next_sweep(None, now=100.0) is None  # nothing pending: until woken
    assert pause_before_next_sweep(103.0, now=100.0) == pytest.approx(3.0)
    assert pause_before_next_sweep(100.05, now=100.0, min_pause_s=0.1) == 0.1  # many signals per read
    assert pause_before_next_sweep(99.0, now=100.0, min_pause_s=0.1) == 0.1  # given back after a failed read


class CountingRedis:
    """A real Redis client that counts the reads the watch makes (the test asserts on them)."""

    def __init__(self, client: aioredis.Redis):
        self.client = client
        self.reads: list[float] = []

    async def mget(self, keys: list[str]) -> list[bytes | None]:
        self.reads.append(time.time())
        return await self.client.mget(keys)


async def test_an_idle_watch_does_not_wake_and_a_signal_added_to_it_is_counted_on_time(redis, monkeypatch):
    metrics = GatewayMetrics()
    watch = DueWatch(metrics.signals_due, deadline_s=DEADLINE_S)
    watch.ledger.check_after_s = 0.7  # due 0.7 s after receipt: a short test
    counting = CountingRedis(redis)
    sweeps: list[float] = []
    sweep = watch.sweep

    async def counted_sweep(client: aioredis.Redis, now: float) -> dict[str, int]:
        sweeps.append(now)
        return await sweep(client, now)

    monkeypatch.setattr(watch, "sweep", counted_sweep)
    task = asyncio.create_task(watch.run(counting))  # type: ignore[arg-type]
    try:
        await asyncio.sleep(0.5)  # idle: the old loop swept five times in this
        assert (len(sweeps), counting.reads) == (1, [])  # the first sweep only, and it read nothing

        received = time.time()
        watch.accepted("idle-1", received)
        await async_poll_until(lambda: _count(metrics, LATE) == 1.0, timeout_s=5, interval_s=0.01, what="counted")
        assert len(counting.reads) == 1  # one read, once due
        assert received + 0.7 <= counting.reads[0] <= received + 0.7 + SWEEP_INTERVAL_S + 0.25
        assert len(sweeps) <= 3  # woken by the signal, then once at its due time: no sweep every 100 ms

        await asyncio.sleep(0.3)  # idle again
        assert len(counting.reads) == 1
        assert len(sweeps) <= 3
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
