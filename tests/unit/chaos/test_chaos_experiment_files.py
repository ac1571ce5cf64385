"""The experiment files under chaos/: valid Chaos Toolkit documents that cover every alert in the rules."""

from __future__ import annotations

import pytest
from chaoslib.experiment import ensure_experiment_is_valid

from agentic_trading.chaos.experiment import Experiment, discover, uncovered_alerts
from agentic_trading.chaos.rules import alerts_in_rules

EXPERIMENTS = discover()
ALERTS = alerts_in_rules()


def test_every_alert_in_the_rules_has_an_experiment():
    missing = uncovered_alerts(EXPERIMENTS, ALERTS)
    assert not missing, f"alerts without an experiment under chaos/ (add one, or an exception with its reason): {missing}"


def test_an_alert_without_an_experiment_is_reported():
    assert uncovered_alerts(EXPERIMENTS, [*ALERTS, "BrandNewAlert"]) == ["BrandNewAlert"]


@pytest.mark.parametrize("experiment", EXPERIMENTS, ids=lambda e: e.name)
def test_the_file_is_a_valid_chaos_toolkit_experiment(experiment: Experiment):
    # chaoslib imports every provider's module and checks its function and arguments exist.
    ensure_experiment_is_valid(experiment.document)


@pytest.mark.parametrize("experiment", EXPERIMENTS, ids=lambda e: e.name)
def test_alerts_named_by_an_experiment_exist_in_the_rules(experiment: Experiment):
    assert experiment.alert in ALERTS
    assert set(experiment.also_notified) <= set(ALERTS), experiment.also_notified


@pytest.mark.parametrize("experiment", [e for e in EXPERIMENTS if not e.exception], ids=lambda e: e.name)
def test_a_run_experiment_restores_the_stack_and_measures_its_alert(experiment: Experiment):
    funcs = [a["provider"]["func"] for a in experiment.document["method"]]
    rollbacks = [a["provider"]["func"] for a in experiment.document["rollbacks"]]
    assert rollbacks == ["restore_stack"]
    assert funcs[-1] == "no_unexpected_alerts", "the last probe checks that nothing undeclared was notified"
    if experiment.alert != "Watchdog":
        assert {"wait_for_alert_firing", "wait_for_alert_resolved"} <= set(funcs)
        assert "settle_signal_flow" in funcs, "signals must flow during the fault and be settled"


def test_no_alert_is_left_to_an_exception():
    """Every alert is proven by its fault: the mechanism stays for an alert that truly cannot be."""
    exceptions = {e.alert: e.exception for e in EXPERIMENTS if e.exception}
    assert exceptions == {}, exceptions


def test_an_exception_counts_as_covered_only_with_its_reason(tmp_path):
    from agentic_trading.chaos.errors import ExperimentFileError
    from agentic_trading.chaos.experiment import load_experiment

    source = next(e for e in EXPERIMENTS if e.name == "agent-down").path.read_text()
    with_reason = tmp_path / "with-reason.yaml"
    with_reason.write_text(
        source.replace("    alert: AgentDown\n", "    alert: AgentDown\n    exception: cannot be proven here\n")
    )
    assert load_experiment(with_reason).exception == "cannot be proven here"
    empty = tmp_path / "empty.yaml"
    empty.write_text(source.replace("    alert: AgentDown\n", "    alert: AgentDown\n    exception: ' '\n"))
    with pytest.raises(ExperimentFileError, match="exception"):
        load_experiment(empty)
