"""The consume-decide-publish loop, driven with fakes for JetStream and a toy agent."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import orjson
import pytest
from structlog.testing import capture_logs

from agentic_trading.agents.base import NAK_DELAY_S, AgentLogic, AgentRunner, Assessment
from agentic_trading.signals import Signal
from agentic_trading.telemetry.metrics import AgentMetrics

from .conftest import make_signal
from .fakes import FakeFeed, FakeJetStream, FakeMsg, garbage


class CountingAgent(AgentLogic[dict[str, int]]):
    """Supports a signal in proportion to how many live signals its instrument has seen."""

    agent_type = "sentiment"

    def __init__(self, fail_load: bool = False, fail_record: bool = False, explode_on: str | None = None):
        self.stored: dict[str, int] = {}
        self.recorded: list[str] = []
        self.fail_load, self.fail_record, self.explode_on = fail_load, fail_record, explode_on

    async def load(self, signals: Sequence[Signal]) -> dict[str, int]:
        if self.fail_load:
            raise ConnectionError("redis is away")
        return dict(self.stored)

    def assess(self, signal: Signal, state: dict[str, int]) -> Assessment:
        if signal.signal_id == self.explode_on:
            raise ZeroDivisionError("bug")
        seen = state.get(signal.instrument, 0)
        return Assessment(0.1 * seen, 0.5, [f"{seen} earlier"], veto=signal.action == "sell")

    def advance(self, signal: Signal, state: dict[str, int]) -> None:
        state[signal.instrument] = state.get(signal.instrument, 0) + 1

    async def record(self, signals: Sequence[Signal]) -> None:
        if self.fail_record:
            raise ConnectionError("redis is away")
        for s in signals:
            self.stored[s.instrument] = self.stored.get(s.instrument, 0) + 1
            self.recorded.append(s.signal_id)


def processed(metrics: AgentMetrics, outcome: str) -> float:
    return (
        metrics.registry.get_sample_value("agent_messages_processed_total", {"agent_type": "sentiment", "outcome": outcome})
        or 0.0
    )


def signals(n: int, **overrides: object) -> list[Signal]:
    return [make_signal(signal_id=f"sig_{i}", correlation_id=f"corr-{i}", **overrides) for i in range(n)]


@pytest.fixture
def metrics() -> AgentMetrics:
    return AgentMetrics("sentiment")


async def test_every_signal_gets_one_opinion_with_dedup_and_correlation_headers(metrics: AgentMetrics) -> None:
    js, agent = FakeJetStream(), CountingAgent()
    msgs = [FakeMsg.of(s) for s in signals(3)]
    await AgentRunner(agent, js, metrics, clock=lambda: 42.0).process_batch(msgs)

    assert [p["subject"] for p in js.published] == ["opinions.sentiment"] * 3
    assert js.published[1]["headers"] == {"Nats-Msg-Id": "sig_1:sentiment", "X-Correlation-ID": "corr-1"}
    assert js.published[1]["timeout"] == 2.0
    assert all(m.settled == [("ack", None)] for m in msgs)
    assert processed(metrics, "ok") == 3
    assert metrics.registry.get_sample_value("agent_last_processed_timestamp_seconds", {"agent_type": "sentiment"}) == 42.0
    assert metrics.registry.get_sample_value("agent_processing_duration_seconds_count", {"agent_type": "sentiment"}) == 3


async def test_signals_of_one_instrument_see_each_other_in_stream_order(metrics: AgentMetrics) -> None:
    js, agent = FakeJetStream(), CountingAgent()
    await AgentRunner(agent, js, metrics).process_batch([FakeMsg.of(s) for s in signals(3)])
    assert [o.score for o in js.opinions()] == [0.0, 0.1, 0.2]
    assert agent.stored == {"EURUSD": 3}


async def test_test_signals_are_answered_but_change_no_state(metrics: AgentMetrics) -> None:
    js, agent = FakeJetStream(), CountingAgent()
    live, test = make_signal(signal_id="sig_live"), make_signal(signal_id="sig_test", test=True)
    await AgentRunner(agent, js, metrics).process_batch([FakeMsg.of(test), FakeMsg.of(test), FakeMsg.of(live)])
    assert [o.signal_id for o in js.opinions()] == ["sig_test", "sig_test", "sig_live"]
    assert [o.score for o in js.opinions()] == [0.0, 0.0, 0.0]
    assert agent.recorded == ["sig_live"]


async def test_a_failed_publish_is_naked_for_retry_and_not_recorded(metrics: AgentMetrics) -> None:
    js, agent = FakeJetStream(fail_for=["sig_1"]), CountingAgent()
    msgs = [FakeMsg.of(s) for s in signals(3)]
    with capture_logs() as logs:
        await AgentRunner(agent, js, metrics).process_batch(msgs)
    assert msgs[1].settled == [("nak", NAK_DELAY_S)]
    assert msgs[0].settled == msgs[2].settled == [("ack", None)]
    assert agent.recorded == ["sig_0", "sig_2"]
    assert (processed(metrics, "ok"), processed(metrics, "error")) == (2, 1)
    failure = next(e for e in logs if e["event"] == "opinion_publish_failed")
    assert failure["exc_info"] is not None


async def test_an_unreachable_redis_naks_the_whole_batch_and_publishes_nothing(metrics: AgentMetrics) -> None:
    js = FakeJetStream()
    msgs = [FakeMsg.of(s) for s in signals(2)]
    await AgentRunner(CountingAgent(fail_load=True), js, metrics).process_batch(msgs)
    assert js.published == []
    assert all(m.settled == [("nak", NAK_DELAY_S)] for m in msgs)
    assert processed(metrics, "error") == 2


async def test_a_failed_state_write_naks_so_the_redelivery_records_it(metrics: AgentMetrics) -> None:
    js = FakeJetStream()
    msgs = [FakeMsg.of(s) for s in signals(2)]
    await AgentRunner(CountingAgent(fail_record=True), js, metrics).process_batch(msgs)
    assert len(js.published) == 2  # deduplicated by message id when republished
    assert all(m.settled == [("nak", NAK_DELAY_S)] for m in msgs)
    assert processed(metrics, "ok") == 0


async def test_a_bug_on_one_signal_fails_only_that_signal(metrics: AgentMetrics) -> None:
    js = FakeJetStream()
    msgs = [FakeMsg.of(s) for s in signals(3)]
    with capture_logs() as logs:
        await AgentRunner(CountingAgent(explode_on="sig_1"), js, metrics).process_batch(msgs)
    assert [o.signal_id for o in js.opinions()] == ["sig_0", "sig_2"]
    assert msgs[1].settled == [("nak", NAK_DELAY_S)]
    failure = next(e for e in logs if e["event"] == "assessment_failed")
    assert failure["exc_info"] is True


async def test_an_undecodable_message_is_terminated_not_retried_forever(metrics: AgentMetrics) -> None:
    js, bad = FakeJetStream(), garbage()
    good = FakeMsg.of(make_signal())
    await AgentRunner(CountingAgent(), js, metrics).process_batch([bad, good])
    assert bad.settled == [("term", None)]
    assert good.settled == [("ack", None)]
    assert (processed(metrics, "ok"), processed(metrics, "error")) == (1, 1)


async def test_a_veto_is_counted_and_the_confidence_gauge_follows_the_latest(metrics: AgentMetrics) -> None:
    js = FakeJetStream()
    await AgentRunner(CountingAgent(), js, metrics).process_batch([FakeMsg.of(make_signal(action="sell"))])
    assert js.opinions()[0].veto
    assert metrics.registry.get_sample_value("agent_vetoes_total", {"agent_type": "sentiment"}) == 1
    assert metrics.registry.get_sample_value("agent_confidence_score", {"agent_type": "sentiment"}) == 0.5


async def test_one_json_line_per_signal_carries_the_ids_and_the_verdict(
    metrics: AgentMetrics, capsys: pytest.CaptureFixture[str]
) -> None:
    await AgentRunner(CountingAgent(), FakeJetStream(), metrics).process_batch([FakeMsg.of(s) for s in signals(2)])
    logs = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
    published = [e for e in logs if e["event"] == "opinion_published"]
    assert [(e["signal_id"], e["correlation_id"]) for e in published] == [("sig_0", "corr-0"), ("sig_1", "corr-1")]
    assert {"stance", "score", "confidence"} <= published[0].keys()


async def test_the_loop_survives_empty_fetches_and_bus_errors_then_stops(metrics: AgentMetrics) -> None:
    stop = asyncio.Event()
    js = FakeJetStream()
    feed = FakeFeed(
        [
            [FakeMsg.of(make_signal(signal_id="sig_a"))],
            ConnectionResetError("bus away"),
            [FakeMsg.of(make_signal(signal_id="sig_b"))],
        ],
        stop,
    )
    await asyncio.wait_for(AgentRunner(CountingAgent(), js, metrics).run(stop, feed), timeout=5)
    assert [o.signal_id for o in js.opinions()] == ["sig_a", "sig_b"]
    assert feed.takes == 4  # two batches, one error, one empty take that ends the test
    assert feed.closed  # else the connection's drain waits 30 s on shutdown, and nothing is naked
