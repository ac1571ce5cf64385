"""The canary's bookkeeping: decided in time, undecided after the deadline, others' decisions ignored."""

from __future__ import annotations

from types import SimpleNamespace

import orjson
from prometheus_client import CollectorRegistry

from agentic_trading.canary.service import Canary
from agentic_trading.canary.tracker import CanaryTracker
from agentic_trading.settings import Settings
from agentic_trading.telemetry.metrics import CanaryMetrics


def test_decided_in_time_gives_the_latency_once() -> None:
    tracker = CanaryTracker(deadline_s=10)
    tracker.sent("a", 100.0)
    assert tracker.decided("a", 100.5) == 0.5
    assert tracker.decided("a", 101.0) is None, "a redelivered decision is not counted twice"
    assert tracker.decided("someone-else", 101.0) is None


def test_signals_past_the_deadline_expire_once_as_undecided() -> None:
    tracker = CanaryTracker(deadline_s=10)
    tracker.sent("a", 100.0)
    tracker.sent("b", 105.0)
    assert tracker.expire(109.0) == 0
    assert tracker.expire(110.5) == 1
    assert tracker.expire(120.0) == 1
    assert tracker.expire(130.0) == 0
    assert tracker.decided("a", 131.0) is None, "a decision after the deadline stays undecided"


async def test_decisions_on_nats_count_only_the_canarys_own() -> None:
    metrics = CanaryMetrics(CollectorRegistry())
    canary = Canary(Settings(), metrics, http=None)  # type: ignore[arg-type]
    canary.tracker.sent("ours", 1.0)
    for signal_id in ("theirs", "ours", "ours"):
        await canary.on_decision(SimpleNamespace(data=orjson.dumps({"signal_id": signal_id}), subject="decisions.EURUSD"))
    await canary.on_decision(SimpleNamespace(data=b"not json", subject="decisions.EURUSD"))
    assert metrics.registry.get_sample_value("canary_signals_decided_total") == 1
    assert metrics.registry.get_sample_value("canary_decision_duration_seconds_count") == 1
