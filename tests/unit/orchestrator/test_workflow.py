"""Exactly one decision per signal, against a real Redis: races, redelivery and the ledger."""

import asyncio

import orjson
import pytest
import redis.asyncio as aioredis

from agentic_trading.opinions import Opinion
from agentic_trading.orchestrator.decision import decide
from agentic_trading.orchestrator.workflow import DECISION_TTL_S, WorkflowStore, parse_workflow
from agentic_trading.redis_keys import DEADLINES_KEY, POSITIONS_KEY, correlation_key
from agentic_trading.signals import Signal


@pytest.fixture
async def store(redis_url):
    client = aioredis.from_url(redis_url)
    await client.flushdb()
    yield WorkflowStore(client)
    await client.aclose()


def _signal(sid="s1", test=False):
    return Signal(
        signal_id=sid,
        correlation_id="c",
        instrument="EURUSD",
        action="buy",
        timestamp="2024-01-15T10:30:00Z",
        received_at=100.0,
        test=test,
    )


def _opinion(agent, sid="s1"):
    return Opinion(signal_id=sid, correlation_id="c", agent_type=agent, stance="support", score=0.8, confidence=0.9)


async def test_fifty_racing_claims_give_one_decision_and_one_ledger_move(store):
    snapshots = await store.record([_signal(), *(_opinion(a) for a in ("momentum", "risk", "sentiment", "correlation"))], 2.0)
    signal, opinions = parse_workflow(snapshots[-1])
    decision = decide(signal, opinions, decided_at=100.2)
    assert decision.decision == "execute"

    wins = await asyncio.gather(*(store.claim(decision) for _ in range(50)))

    assert wins.count(True) == 1
    assert await store.outbox() == ["s1"]
    assert float(await store.redis.hget(POSITIONS_KEY, "EURUSD")) == 1.0
    assert await store.due(now=10_000) == []  # the deadline went with the claim


async def test_a_claim_that_loses_still_clears_a_deadline_left_for_the_decided_signal(store):
    """A deadline that outlived its signal's decision must not stay due for ever.

    Found in a benchmark stack: 1,317 decided signals still in the deadline set, so the sweeper
    loaded, decided and lost the claim for the same 200 every 50 ms (0.3 core of the idle
    orchestrator, 0.07 of Redis). The losing claim now removes the deadline.
    """
    decision = decide(*parse_workflow((await store.record([_signal("s7")], 2.0))[0]), decided_at=102.5)
    assert await store.claim(decision)
    await store.redis.zadd(DEADLINES_KEY, {"s7": 102.0})  # left behind, however it came to be

    assert not await store.claim(decision)  # still one decision ...
    assert await store.due(now=10_000) == []  # ... and no deadline left to sweep
    assert await store.outbox() == ["s7"]  # the losing claim queued nothing


async def test_a_test_signal_never_moves_the_ledger(store):
    parts = [_signal("t1", test=True), *(_opinion(a, "t1") for a in ("momentum", "risk", "sentiment", "correlation"))]
    decision = decide(*parse_workflow((await store.record(parts, 2.0))[-1]), decided_at=100.2)
    assert decision.decision == "execute"
    assert await store.claim(decision)
    assert await store.redis.hget(POSITIONS_KEY, "EURUSD") is None


async def test_a_redelivered_signal_keeps_its_first_deadline_and_publishing_empties_the_outbox(store):
    await store.record([_signal("s2")], deadline_s=2.0)
    await store.record([_signal("s2")], deadline_s=899.0)
    assert await store.due(now=102.0) == ["s2"]
    decision = decide(*parse_workflow(await store.load("s2")), decided_at=102.1)
    assert decision.status == "degraded"
    assert await store.claim(decision)
    assert await store.is_decided("s2")
    assert (await store.decision("s2")).missing_agents == ["momentum", "risk", "sentiment", "correlation"]
    await store.mark_published("s2")
    assert await store.outbox() == []
    # Once decided, a redelivered part records nothing and says so.
    assert await store.record([_opinion("risk", "s2"), _signal("s2")], 2.0) == [None, None]


async def test_recording_a_signal_indexes_its_correlation_id_for_atctl_trace(store):
    await store.record([_opinion("risk"), _signal()], deadline_s=2.0)
    assert await store.redis.get(correlation_key("c")) == b"s1"
    assert 0 < await store.redis.ttl(correlation_key("c")) <= DECISION_TTL_S


async def test_a_published_decision_shrinks_to_a_marker_that_still_blocks_a_second_decision(store):
    """Redis keeps a day of small markers, not a week of decisions: it cannot fill in normal operation."""
    await store.record([_signal("s3")], deadline_s=2.0)
    decision = decide(*parse_workflow(await store.load("s3")), decided_at=102.1)
    assert await store.claim(decision)
    full = await store.redis.get("at:decision:s3")
    await store.mark_published("s3")
    marker = await store.redis.get("at:decision:s3")
    assert len(marker) < len(full) / 4
    assert orjson.loads(marker) == {
        "correlation_id": decision.correlation_id,
        "decision": decision.decision,
        "status": decision.status,
        "decided_at": decision.decided_at,
        "latency_s": decision.latency_s,
    }
    assert 23 * 3600 < await store.redis.ttl("at:decision:s3") <= 24 * 3600
    assert await store.decision("s3") is None
    assert not await store.claim(decision)  # a late redelivery or a retry is never decided twice


async def test_scripts_flushed_from_redis_are_loaded_again_and_the_batch_is_recorded_once(store):
    """A Redis restart empties its script cache: the pipelined EVALSHA meets NOSCRIPT, loads, retries."""
    await store.redis.script_flush()
    snapshots = await store.record([_signal("s9")], deadline_s=2.0)
    assert snapshots[0] is not None and set(snapshots[0]) == {b"signal"}
    await store.redis.script_flush()
    decision = decide(_signal("s9"), {}, decided_at=103.0)
    assert await store.claim_all([decision, decision]) == [True, False]
    await store.redis.script_flush()
    await store.mark_published("s9")
    assert await store.outbox() == []


async def test_one_call_records_claims_and_publishes_a_batch_in_order(store):
    """Each script handles a whole batch in one EVALSHA; the items still go one after another."""
    parts = [_signal("b1"), _opinion("risk", "b1"), _signal("b2"), _signal("b1")]
    snapshots = await store.record(parts, 2.0)
    assert [set(s) for s in snapshots] == [{b"signal"}, {b"signal", b"op:risk"}, {b"signal"}, {b"signal", b"op:risk"}]
    decisions = [decide(*parse_workflow(await store.load(sid)), decided_at=103.0) for sid in ("b1", "b2", "b1")]
    assert await store.claim_all(decisions) == [True, True, False]
    assert await store.outbox() == ["b1", "b2"]
    await store.mark_published("b1", "b2")
    assert await store.outbox() == []
    assert await store.decision("b1") is None and await store.decision("b2") is None  # both shrunk to markers
    assert await store.record(parts[:2], 2.0) == [None, None]


async def test_asked_for_whole_workflows_only_the_part_that_completes_one_returns_its_hash(store):
    """whole_at: an incomplete workflow is recorded but comes back as {}, a decided one still as None."""
    agents = ("momentum", "risk", "sentiment", "correlation")
    parts = [_opinion("risk", "w1"), _signal("w1"), *(_opinion(a, "w1") for a in agents if a != "risk")]
    snapshots = await store.record(parts, 2.0, whole_at=5)
    assert snapshots[:-1] == [{}, {}, {}, {}]
    signal, opinions = parse_workflow(snapshots[-1])
    assert signal is not None and signal.signal_id == "w1" and sorted(opinions) == sorted(agents)
    assert set(await store.load("w1")) == {b"signal", *(f"op:{a}".encode() for a in agents)}  # all recorded
    await store.claim_all([decide(signal, opinions, decided_at=103.0)])
    assert await store.record(parts[:1], 2.0, whole_at=5) == [None]


async def test_a_part_is_stored_byte_for_byte_as_its_json_through_the_batched_argument(store):
    """The parts travel to Lua as one JSON array: quotes, backslashes and non-ASCII must survive it."""
    reasons = ['quote " and backslash \\ and slash /', "non-ASCII: 5 % — €, ü, 日本", "tab\tnew\nline"]
    opinion = Opinion(
        signal_id="u1", correlation_id="c", agent_type="risk", stance="oppose", score=-0.5, confidence=0.7, reasons=reasons
    )
    await store.record([_signal("u1"), opinion], 2.0)
    fields = await store.load("u1")
    assert fields[b"op:risk"] == opinion.to_json() and fields[b"signal"] == _signal("u1").to_json()
    assert parse_workflow(fields)[1]["risk"].reasons == reasons
