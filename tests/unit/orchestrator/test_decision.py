"""Worked examples of the orchestrator's scoring rules."""

from agentic_trading.opinions import Opinion
from agentic_trading.orchestrator.decision import decide, weighted_score
from agentic_trading.signals import Signal


def _signal(action="buy", test=False):
    return Signal(
        signal_id="s1",
        correlation_id="c1",
        instrument="EURUSD",
        action=action,
        timestamp="2024-01-15T10:30:00Z",
        received_at=100.0,
        test=test,
        price=1.085,
    )


def _op(agent, score, confidence, veto=False):
    stance = "support" if score > 0 else "oppose" if score < 0 else "neutral"
    return Opinion(
        signal_id="s1", correlation_id="c1", agent_type=agent, stance=stance, score=score, confidence=confidence, veto=veto
    )


ALL_AGREE = {
    "momentum": _op("momentum", 0.6, 0.8),
    "risk": _op("risk", 0.5, 0.9),
    "sentiment": _op("sentiment", 0.2, 0.5),
    "correlation": _op("correlation", 0.1, 0.6),
}


def test_module_docstring_example_executes():
    assert weighted_score(ALL_AGREE) == 0.311
    decision = decide(_signal(), ALL_AGREE, decided_at=100.05)
    assert (decision.decision, decision.status) == ("execute", "completed")
    assert decision.latency_s == 0.05
    assert decision.position_delta == 1


def test_a_risk_veto_rejects_whatever_the_score():
    opinions = {**ALL_AGREE, "risk": _op("risk", -1.0, 1.0, veto=True)}
    decision = decide(_signal(), opinions, decided_at=101)
    assert (decision.decision, decision.status) == ("reject", "rejected")
    assert decision.position_delta == 0


def test_missing_agents_degrade_and_without_risk_nothing_executes():
    opinions = {k: v for k, v in ALL_AGREE.items() if k != "risk"}
    decision = decide(_signal(), opinions, decided_at=102)
    assert (decision.decision, decision.status) == ("hold", "degraded")
    assert decision.missing_agents == ["risk"]
    assert any("risk" in r for r in decision.reasons)


def test_a_degraded_decision_with_risk_present_can_still_execute():
    opinions = {k: v for k, v in ALL_AGREE.items() if k != "sentiment"}
    decision = decide(_signal(), opinions, decided_at=102)
    assert (decision.decision, decision.status, decision.missing_agents) == ("execute", "degraded", ["sentiment"])


def test_test_signals_never_move_the_ledger_and_hold_is_held():
    assert decide(_signal(test=True), ALL_AGREE, decided_at=101).position_delta == 0
    assert decide(_signal(action="hold"), ALL_AGREE, decided_at=101).decision == "hold"


def test_a_negative_consensus_rejects():
    opinions = {a: _op(a, -0.8, 0.9) for a in ALL_AGREE}
    assert decide(_signal(), opinions, decided_at=101).decision == "reject"
