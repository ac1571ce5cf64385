"""Which experiments run side by side (`atctl chaos run --concurrency`): never two that can interact."""

from __future__ import annotations

from _support import chaos_experiment as _experiment
from agentic_trading.chaos.experiment import discover
from agentic_trading.chaos.schedule import conflict, longest_chain, next_to_start, start_order

AGENT = _experiment("agent-down", "AgentDown", also=("SLOBurnRateFast",), touches=("agent-risk",), needs=("nats",))
EXPORTER = _experiment("exporter-down", "TargetDown", touches=("redis-exporter",))
SLO = _experiment("slo-burn-fast", "SLOBurnRateFast", touches=("orchestrator",), resolve_s=40)
NATS = _experiment("nats-down", "NATSServerDown", touches=("nats",))
WATCHDOG = _experiment("watchdog", "Watchdog", touches=("prometheus",))
CANARY = _experiment("canary-undecided", "CanarySignalsUndecided", touches=("orchestrator",), resolve_s=30)


def test_an_experiment_whose_fault_may_notify_the_others_alert_never_runs_beside_it():
    assert "agent-down may notify SLOBurnRateFast" in (conflict(SLO, AGENT) or "")
    assert conflict(AGENT, SLO) == conflict(SLO, AGENT)


def test_two_faults_on_one_program_or_one_touching_what_the_other_needs_interact():
    assert conflict(SLO, CANARY) == "both touch orchestrator"
    assert conflict(AGENT, NATS) == "nats-down touches nats, which agent-down needs"


def test_faults_on_different_things_with_disjoint_alerts_may_run_side_by_side():
    assert conflict(AGENT, EXPORTER) is None
    assert conflict(SLO, EXPORTER) is None


def test_stopping_prometheus_interacts_with_every_experiment():
    for other in (AGENT, EXPORTER, SLO, NATS, CANARY):
        assert "prometheus" in (conflict(WATCHDOG, other) or "")


def test_those_that_must_run_alone_start_first_then_the_alerts_others_may_fire_then_the_longest():
    order = start_order([EXPORTER, SLO, AGENT, CANARY, WATCHDOG])
    # agent-down may fire the fast burn: slo-burn-fast is timed before it (on clean windows).
    assert [e.name for e in order] == ["watchdog", "slo-burn-fast", "canary-undecided", "agent-down", "exporter-down"]


def test_in_the_repository_the_two_slo_burns_start_right_after_the_watchdog():
    order = [e.name for e in start_order(discover())]
    assert order[:3] == ["watchdog", "slo-burn-slow", "slo-burn-fast"]


def test_the_next_is_the_first_that_interacts_with_nothing_running_within_the_capacity():
    assert next_to_start([AGENT, EXPORTER], [SLO], capacity=3) is EXPORTER
    assert next_to_start([EXPORTER], [SLO, AGENT], capacity=2) is None
    assert next_to_start([], [], capacity=3) is None


def test_an_experiment_that_must_run_alone_is_not_overtaken_but_others_are():
    # The Watchdog waits for agent-down to end, and nothing after it may start meanwhile.
    assert next_to_start([WATCHDOG, EXPORTER], [AGENT], capacity=3) is None
    # slo-burn-fast waits for agent-down; exporter-down does not interact with agent-down and starts.
    assert next_to_start([SLO, EXPORTER], [AGENT], capacity=3) is EXPORTER


def test_in_the_repository_the_watchdog_runs_alone_and_the_two_slo_burns_never_overlap():
    by_name = {e.name: e for e in discover()}
    assert all(conflict(by_name["watchdog"], e) for name, e in by_name.items() if name != "watchdog")
    assert conflict(by_name["slo-burn-fast"], by_name["slo-burn-slow"])
    # A fault on the pipeline and one on a Redis exporter have nothing in common.
    assert conflict(by_name["agent-down"], by_name["exporter-down"]) is None


def test_the_longest_chain_is_the_heaviest_set_that_interacts_pairwise():
    seconds = {"slo-burn-fast": 10.0, "canary-undecided": 30.0, "agent-down": 20.0, "exporter-down": 18.0, "watchdog": 25.0}
    total, chain = longest_chain([SLO, CANARY, AGENT, EXPORTER, WATCHDOG], seconds)
    # canary-undecided and slo-burn-fast share the orchestrator, agent-down may notify the fast
    # burn but not the canary's alert: the heaviest pairwise-interacting set is these three.
    assert {e.name for e in chain} == {"canary-undecided", "slo-burn-fast", "watchdog"}
    assert total == 65.0
