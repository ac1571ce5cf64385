"""Judging an experiment from the receiver's notifications."""

from __future__ import annotations

from agentic_trading.chaos.measure import (
    first_notification,
    judge_cpu_first_hold,
    judge_cpu_share,
    judge_signals,
    refiring,
    unexpected_alerts,
)


def _note(alert: str, status: str, at: float, fingerprint: str = "f1", starts: str = "s1") -> dict[str, object]:
    return {"alertname": alert, "status": status, "received_at": at, "fingerprint": fingerprint, "startsAt": starts}


NOTES = [
    _note("GatewayDown", "resolved", 5.0, starts="old"),  # an earlier episode resolving late
    _note("GatewayDown", "firing", 11.0),
    _note("Watchdog", "firing", 12.0),
    _note("TargetDown", "firing", 13.0, fingerprint="f2"),
    _note("GatewayDown", "resolved", 20.0),
]


def test_the_first_notification_after_the_fault_is_found():
    assert first_notification(NOTES, "GatewayDown", "firing", since=10.0)["received_at"] == 11.0
    assert first_notification(NOTES, "GatewayDown", "firing", since=12.0) is None


def test_a_resolution_is_tied_to_the_episode_that_fired():
    found = first_notification(NOTES, "GatewayDown", "resolved", since=0.0, fingerprint="f1", starts_at="s1")
    assert found is not None and found["received_at"] == 20.0


def test_another_agents_alert_firing_after_the_resolution_is_not_the_resolution_failing_to_hold():
    # Measured (agent-failing, fast profile): the fault fails all four agents; three fired together,
    # agent-correlation's errors reached Prometheus a scrape later, and the others resolved 2 s after
    # firing. A lagging agent's own first page after that resolution is another alert, not a flap.
    fired = _note("AgentFailing", "firing", 10.0, fingerprint="risk")
    notes = [
        fired,
        _note("AgentFailing", "resolved", 12.0, fingerprint="risk"),
        _note("AgentFailing", "firing", 17.0, fingerprint="correlation", starts="s2"),
    ]
    assert refiring(notes, fired, resolved_at=12.0) is None
    flap = _note("AgentFailing", "firing", 17.0, fingerprint="risk", starts="s3")
    assert refiring([*notes, flap], fired, resolved_at=12.0) == flap


def test_undeclared_alerts_are_unexpected_but_the_watchdog_never_is():
    assert unexpected_alerts(NOTES, since=10.0, allowed={"GatewayDown"}) == ["TargetDown"]
    assert unexpected_alerts(NOTES, since=10.0, allowed={"GatewayDown", "TargetDown"}) == []


def test_lost_and_doubled_signals_are_named():
    assert judge_signals(3, 3, [], []) == []
    problems = judge_signals(3, 1, ["sig_b"], ["sig_c"])
    assert problems == ["1 of 3 accepted signals never decided (e.g. sig_c)", "1 signals decided more than once (e.g. sig_b)"]


def test_a_refused_signal_decided_is_fine_only_when_the_answer_said_outcome_unknown():
    from agentic_trading.chaos.measure import judge_refused

    refused = {"a": "outcome_unknown", "b": "outcome_unknown", "c": "bus_unavailable", "d": "stream_full"}
    unknown, problems = judge_refused(refused, {"a": 1, "c": 1, "x": 1})
    assert unknown == 1
    assert problems == ["1 signals refused as not stored were decided (e.g. c (bus_unavailable))"]
    unknown, problems = judge_refused(refused, {"a": 2, "b": 1})
    assert unknown == 2
    assert problems == ["1 refused signals decided more than once (e.g. a)"]
    assert judge_refused(refused, {"x": 1}) == (0, [])


def test_a_cpu_alert_silent_while_the_spin_held_the_core_for_its_whole_hold_is_a_failure():
    assert judge_cpu_share(most_percent=100.0, sustained_percent=97.0, threshold=90.0, hold_s=25.0) is None


def test_a_spin_that_never_kept_the_core_for_a_whole_hold_tested_nothing_and_says_what_it_got():
    why = judge_cpu_share(most_percent=95.0, sustained_percent=62.0, threshold=90.0, hold_s=25.0)
    assert why is not None and "62 % held" in why and "at most 95 %" in why and "25 s" in why


def test_no_cpu_sample_at_all_is_not_the_machine_s_fault():
    assert judge_cpu_share(most_percent=None, sustained_percent=None, threshold=90.0, hold_s=25.0) is None


def test_a_cpu_alert_notified_late_while_the_spin_held_from_the_fault_is_the_alert_path_s_failure():
    assert judge_cpu_first_hold(first_hold_percent=96.0, threshold=90.0, hold_s=25.0, ramp_s=2.0) is None
    assert judge_cpu_first_hold(first_hold_percent=None, threshold=90.0, hold_s=25.0, ramp_s=2.0) is None


def test_a_spin_that_dipped_in_its_first_hold_explains_a_late_notification_and_says_how_far():
    why = judge_cpu_first_hold(first_hold_percent=87.0, threshold=90.0, hold_s=25.0, ramp_s=2.0)
    assert why is not None and "87 %" in why and "first 25 s" in why and "restarted the alert's hold" in why
