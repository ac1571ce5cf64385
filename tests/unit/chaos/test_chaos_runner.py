"""The verdict on a Chaos Toolkit journal: ours, and stricter than chaoslib's status."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest

from agentic_trading.chaos.experiment import Experiment
from agentic_trading.chaos.observe import FiringSeen
from agentic_trading.chaos.probes import wait_for_alert_firing
from agentic_trading.chaos.runner import judge
from agentic_trading.chaos.session import Session, active, sigint_deferred

EXPERIMENT = Experiment("gateway-down", Path("chaos/gateway-down.yaml"), "t", "GatewayDown", "stop", document={})


def _session() -> Session:
    return Session(stack=None, experiment=EXPERIMENT)  # type: ignore[arg-type]


def _run(name: str, status: str = "succeeded", exception: str | None = None) -> dict[str, Any]:
    run: dict[str, Any] = {"activity": {"name": name}, "status": status}
    if exception:
        run["exception"] = ["Traceback", exception]
    return run


def _journal(**overrides: Any) -> dict[str, Any]:
    journal = {
        "status": "completed",
        "deviated": False,
        "steady_states": {"before": {"steady_state_met": True}},
        "run": [_run("stop"), _run("fires")],
        "rollbacks": [_run("restore")],
    }
    journal.update(overrides)
    return journal


def test_a_clean_journal_passes():
    result = judge(EXPERIMENT, _session(), _journal())
    assert (result.status, result.message) == ("passed", "ok")


def test_a_failed_probe_fails_with_the_first_problem_recorded():
    session = _session()
    session.problem("GatewayDown never fired: no notification within 18 s of the fault")
    journal = _journal(run=[_run("stop"), _run("fires", "failed", "ChaosError: GatewayDown never fired")])
    result = judge(EXPERIMENT, session, journal)
    assert result.status == "failed"
    assert result.message == "GatewayDown never fired: no notification within 18 s of the fault"


def test_chaoslib_completed_is_not_enough_when_a_rollback_failed():
    result = judge(EXPERIMENT, _session(), _journal(rollbacks=[_run("restore", "failed", "FaultError: rule left")]))
    assert result.status == "failed" and "restore: FaultError: rule left" in result.message


def test_a_baseline_not_met_fails_instead_of_exiting_0():
    result = judge(EXPERIMENT, _session(), _journal(steady_states={"before": {"steady_state_met": False}}, run=[]))
    assert result.status == "failed" and "steady state before the fault" in result.message


def test_an_interrupt_is_reported_as_such():
    result = judge(EXPERIMENT, _session(), _journal(status="interrupted"))
    assert result.status == "interrupted" and "Ctrl-C" in result.message
    assert not result.ok


def test_an_alert_the_fault_could_not_reach_is_inconclusive_not_failed():
    session = _session()
    session.inconclusive = "HighCPU not tested: the spin never kept more than 90 % of a core"
    journal = _journal(run=[_run("spin"), _run("fires", "failed", "ChaosError: HighCPU not tested")])
    result = judge(EXPERIMENT, session, journal)
    assert (result.status, result.message) == ("inconclusive", session.inconclusive)
    assert not result.ok


def test_an_inconclusive_alert_with_another_problem_still_fails():
    session = _session()
    session.inconclusive = "HighCPU not tested"
    session.problem("2 of 40 accepted signals never decided")
    result = judge(EXPERIMENT, session, _journal(run=[_run("fires", "failed", "ChaosError: HighCPU not tested")]))
    assert result.status == "failed" and "never decided" in result.message


def test_a_result_names_the_experiments_that_ran_alongside_and_the_alerts_it_tolerated():
    session = _session()
    session.alongside = {"exporter-down": frozenset({"TargetDown"})}
    result = judge(EXPERIMENT, session, _journal())
    assert result.status == "passed" and result.alongside == ["exporter-down"]
    assert result.message == "ok (ran alongside exporter-down; tolerated their alerts TargetDown)"


def test_a_ctrl_c_during_a_fault_call_is_raised_after_the_call_completes():
    completed = []
    with pytest.raises(KeyboardInterrupt):
        with sigint_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            completed.append("stop returned")  # not cut in half by the Ctrl-C
    assert completed == ["stop returned"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


class _LateAlertPath:
    """An alert path whose alert (for 25 s) is notified 38.6 s after the fault."""

    def __init__(self, fault_at: float):
        self.fault_at = fault_at

    def alert_for_s(self, alert: str) -> float:
        return 25.0

    def wait_for_firing(self, alert: str, since: float, deadline_s: float) -> FiringSeen:
        note = {"received_at": self.fault_at + 38.6, "startsAt": "2026-11-30T14:00:10Z", "fingerprint": "f"}
        return FiringSeen(alertmanager=self.fault_at + 38.5, notification=note)


@pytest.mark.parametrize(("explained", "status"), [(True, "inconclusive"), (False, "failed")])
def test_a_late_notification_is_inconclusive_only_when_the_fault_explains_it(
    monkeypatch: pytest.MonkeyPatch, explained: bool, status: str
) -> None:
    session = _session()
    session.fault_at = 1_000.0
    monkeypatch.setattr(Session, "alert_path", property(lambda self: _LateAlertPath(1_000.0)))
    if explained:
        session.extras["explain_late"] = lambda alert: "the spin fell to 87 % of a core within its first 25 s"
    with active(session):
        wait_for_alert_firing("GatewayDown")
    result = judge(EXPERIMENT, session, _journal())
    assert result.status == status
    assert "notified 38.6 s after the fault (budget 28 s)" in result.message
    if explained:
        assert "time not tested: the spin fell to 87 %" in result.message
