"""The agents' Redis state against a real redis-server (started by the session fixture)."""

from __future__ import annotations

import redis.asyncio as aioredis

from agentic_trading.agents.base import AgentRunner
from agentic_trading.agents.correlation import CorrelationAgent
from agentic_trading.agents.momentum import HISTORY_LEN, MomentumAgent
from agentic_trading.agents.risk import RiskAgent
from agentic_trading.agents.sentiment import SentimentAgent
from agentic_trading.agents.state import HistoryStore, load_positions
from agentic_trading.redis_keys import prices_key, seen_key
from agentic_trading.telemetry.metrics import AgentMetrics

from .conftest import make_signal
from .fakes import FakeJetStream, FakeMsg


async def test_recording_a_signal_twice_counts_it_once(redis_client: aioredis.Redis) -> None:
    store = HistoryStore(redis_client, "momentum", prices_key, keep=50, seen_ttl_s=120)
    assert await store.record([("EURUSD", "sig_1", "1.085")]) == 1
    assert await store.record([("EURUSD", "sig_1", "1.085"), ("EURUSD", "sig_2", "1.086")]) == 1
    assert await redis_client.lrange("at:prices:EURUSD", 0, -1) == [b"sig_1 1.085", b"sig_2 1.086"]
    assert 0 < await redis_client.ttl(seen_key("momentum", "sig_1")) <= 120


async def test_histories_keep_the_newest_entries_and_expire_when_abandoned(redis_client: aioredis.Redis) -> None:
    store = HistoryStore(redis_client, "momentum", prices_key, keep=HISTORY_LEN)
    await store.record([("EURUSD", f"sig_{i}", str(100 + i)) for i in range(HISTORY_LEN + 5)])
    histories = await store.load(["EURUSD", "GBPUSD"])
    assert histories.values("EURUSD")[0] == "105"
    assert len(histories.values("EURUSD")) == HISTORY_LEN
    assert histories.values("EURUSD", excluding="sig_54")[-1] == "153"
    assert histories.values("GBPUSD") == []
    assert await redis_client.ttl("at:prices:EURUSD") > 24 * 3600


async def test_positions_read_the_orchestrators_ledger(redis_client: aioredis.Redis) -> None:
    await redis_client.hincrbyfloat("at:positions", "EURUSD", 1)
    await redis_client.hincrbyfloat("at:positions", "EURUSD", 1)
    await redis_client.hincrbyfloat("at:positions", "GBPUSD", -1)
    assert await load_positions(redis_client) == {"EURUSD": 2.0, "GBPUSD": -1.0}


async def test_a_redelivered_signal_moves_the_momentum_history_once(redis_client: aioredis.Redis) -> None:
    js, agent = FakeJetStream(), MomentumAgent(redis_client)
    runner = AgentRunner(agent, js, AgentMetrics("momentum"))
    history = [make_signal(signal_id=f"sig_{i}", price=100.0) for i in range(10)]
    await runner.process_batch([FakeMsg.of(s) for s in history])
    rising = make_signal(signal_id="sig_up", price=101.0)
    await runner.process_batch([FakeMsg.of(rising)])
    await runner.process_batch([FakeMsg.of(rising)])  # redelivery: same judgement, no second entry
    assert await redis_client.llen("at:prices:EURUSD") == 11
    assert [o.score for o in js.opinions()[-2:]] == [0.5, 0.5]


async def test_test_signals_leave_prices_and_sentiment_untouched(redis_client: aioredis.Redis) -> None:
    for agent in (MomentumAgent(redis_client), SentimentAgent(redis_client), CorrelationAgent(redis_client)):
        js = FakeJetStream()
        await AgentRunner(agent, js, AgentMetrics(agent.agent_type)).process_batch(
            [FakeMsg.of(make_signal(signal_id="sig_t", price=1.2, test=True))]
        )
        assert len(js.opinions()) == 1
    assert await redis_client.keys("*") == []


async def test_each_agent_writes_only_its_own_lists(redis_client: aioredis.Redis) -> None:
    signal = make_signal(price=1.085)
    for agent in (SentimentAgent(redis_client), CorrelationAgent(redis_client)):
        await AgentRunner(agent, FakeJetStream(), AgentMetrics(agent.agent_type)).process_batch([FakeMsg.of(signal)])
    assert await redis_client.lrange("at:sentiment:EURUSD", 0, -1) == [b"sig_1 buy"]
    assert await redis_client.lrange("at:corr:prices:EURUSD", 0, -1) == [b"sig_1 1.085"]
    assert await redis_client.exists("at:prices:EURUSD") == 0


async def test_the_risk_agent_vetoes_against_the_ledger_in_redis(redis_client: aioredis.Redis) -> None:
    await redis_client.hset("at:positions", "EURUSD", "5")
    js = FakeJetStream()
    buy = make_signal(price=1.0850, stop_loss=1.0800, take_profit=1.0950)
    await AgentRunner(RiskAgent(redis_client, max_position_units=5), js, AgentMetrics("risk")).process_batch([FakeMsg.of(buy)])
    assert js.opinions()[0].veto
    assert js.published[0]["subject"] == "opinions.risk"


async def test_the_correlation_agent_opposes_stacking_from_stored_histories(redis_client: aioredis.Redis) -> None:
    """The correlation docstring's worked example, with its prices and ledger in Redis."""
    await redis_client.hset("at:positions", "EURUSD", "2")
    eurusd = [make_signal(signal_id=f"e{i}", price=p) for i, p in enumerate([100.0, 101.0] * 5 + [100.0])]
    gbpusd = [make_signal(signal_id=f"g{i}", instrument="GBPUSD", price=p) for i, p in enumerate([200.0, 202.0] * 5)]
    js = FakeJetStream()
    runner = AgentRunner(CorrelationAgent(redis_client), js, AgentMetrics("correlation"))
    await runner.process_batch([FakeMsg.of(s) for s in eurusd + gbpusd])
    await runner.process_batch([FakeMsg.of(make_signal(signal_id="sig_buy", instrument="GBPUSD", price=200.0))])
    verdict = js.opinions()[-1]
    assert (verdict.stance, verdict.score, verdict.confidence) == ("oppose", -1.0, 0.5667)


async def test_recording_survives_a_flushed_script_cache(redis_client: aioredis.Redis) -> None:
    store = HistoryStore(redis_client, "sentiment", prices_key, keep=20)
    assert await store.record([("EURUSD", "sig_1", "buy")]) == 1
    await redis_client.script_flush()
    assert await store.record([("EURUSD", "sig_2", "sell")]) == 1
    assert await redis_client.llen("at:prices:EURUSD") == 2


async def test_loading_survives_a_flushed_script_cache(redis_client: aioredis.Redis) -> None:
    """The histories come from one script call; after a Redis restart it is loaded again, not failed."""
    store = HistoryStore(redis_client, "momentum", prices_key, keep=50)
    await store.record([("EURUSD", "sig_1", "1.085"), ("GBPUSD", "sig_2", "1.265")])
    assert (await store.load(["EURUSD"])).values("EURUSD") == ["1.085"]
    await redis_client.script_flush()
    histories = await store.load(["GBPUSD", "EURUSD", "USDJPY"])
    assert (histories.values("EURUSD"), histories.values("GBPUSD"), histories.values("USDJPY")) == (["1.085"], ["1.265"], [])
