"""Real faults on the shared test stack page as they should, and end when the fault ends.

Each test injects one fault, waits (polling) for the notification at the alert receiver,
removes the fault and waits for the resolved notification, so the next test starts from a
quiet stack. Timings are those of the fast profile (docs/alerting.md).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from _live import LiveStack
from typer.testing import CliRunner

from _support import eventually
from agentic_trading.chaos import streams
from agentic_trading.chaos.observe import AlertPath
from agentic_trading.chaos.pressure import RedisSpin, spin_could_not_test
from agentic_trading.cli.main import app
from agentic_trading.load.payloads import SignalFactory
from agentic_trading.observability.durations import parse_duration
from agentic_trading.observability.slo import FAST_WINDOWS

# After the other live tests: each fault burns the SLO windows of the shared stack.
pytestmark = [pytest.mark.integration, pytest.mark.leaves_alerts]

runner = CliRunner()
signals = SignalFactory(seed=15)
SLO_PAGE_WINDOW_S = parse_duration(FAST_WINDOWS["page_short"])  # the fast profile's 20 s page window


@pytest.fixture(scope="module")
def live(fault_stack: LiveStack) -> LiveStack:
    """The stack shared with the other fault-injecting file (conftest.py ``fault_stack``)."""
    return fault_stack


def _atctl_json(live: LiveStack, *args: str) -> dict:
    result = runner.invoke(app, [*args, "--state-dir", str(live.stack.paths.state_dir), "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def _notified(live: LiveStack, alertname: str, status: str, since: float, **labels: str) -> list[dict]:
    return [
        n
        for n in live.notifications(alertname=alertname, status=status, since=since)
        if all(n["labels"].get(k) == v for k, v in labels.items())
    ]


def _await_notified(live: LiveStack, alertname: str, status: str, since: float, *, timeout_s: float, what: str, **labels: str):
    """Poll the receiver until ``alertname`` has a ``status`` notification since ``since``: (notifications, seconds)."""
    return eventually(lambda: _notified(live, alertname, status, since, **labels), timeout_s=timeout_s, interval_s=0.5, what=what)


@contextmanager
def _stopped(live: LiveStack, program: str) -> Iterator[None]:
    live.stack.stop(program)
    try:
        yield
    finally:
        live.stack.start(program, timeout=60)


def test_atctl_alerts_shows_agentdown_with_its_runbook_and_it_pages_critical(live: LiveStack):
    started = time.time()
    with _stopped(live, "agent-risk"):
        shown, took = eventually(
            lambda: [
                a for a in _atctl_json(live, "alerts")["firing"] if a["alertname"] == "AgentDown" and a["service"] == "agent-risk"
            ],
            timeout_s=15,
            interval_s=0.5,
            what="AgentDown for agent-risk in `atctl alerts`",
        )
        assert shown[0]["runbook"] == "docs/runbooks/AgentDown.md"
        assert shown[0]["severity"] == "critical" and shown[0]["summary"]
        print(f"AgentDown shown by atctl alerts {took:.1f} s after the stop ({shown[0]['state']})")
        _await_notified(
            live,
            "AgentDown",
            "firing",
            started,
            service="agent-risk",
            severity="critical",
            timeout_s=30,
            what="a critical AgentDown notification for agent-risk",
        )
    _await_notified(
        live,
        "AgentDown",
        "resolved",
        started,
        service="agent-risk",
        timeout_s=30,
        what="AgentDown resolved after agent-risk is back",
    )


def test_stopping_the_orchestrator_pages_critical(live: LiveStack):
    started = time.time()
    with _stopped(live, "orchestrator"):
        _, took = _await_notified(
            live,
            "OrchestratorDown",
            "firing",
            started,
            severity="critical",
            timeout_s=30,
            what="a critical OrchestratorDown notification",
        )
        print(f"OrchestratorDown paged {took:.1f} s after `atctl stop orchestrator`")
    _await_notified(live, "OrchestratorDown", "resolved", started, timeout_s=30, what="OrchestratorDown resolved")
    # The canary's signals of the outage may have expired; let its alert end before the next test.
    eventually(
        lambda: not [a for a in _atctl_json(live, "alerts")["firing"] if a["alertname"] == "CanarySignalsUndecided"],
        timeout_s=60,
        interval_s=1,
        what="no CanarySignalsUndecided after the orchestrator is back",
    )


def _critical_firing_since(live: LiveStack, since: float) -> list[str]:
    return sorted(
        {n["alertname"] for n in live.notifications(status="firing", since=since) if n["labels"].get("severity") == "critical"}
    )


def test_a_nats_outage_pages_once_and_nothing_after_recovery(live: LiveStack):
    started = time.time()
    with _stopped(live, "nats"):
        refused = [live.post_signal(signals.signal()).status_code for _ in range(3)]
        assert refused == [503, 503, 503], "the gateway must answer 503 while JetStream is gone"
        _await_notified(
            live,
            "NATSServerDown",
            "firing",
            started,
            service="nats",
            severity="critical",
            timeout_s=30,
            what="a critical NATSServerDown notification naming nats (not its exporter)",
        )
    eventually(
        lambda: live.post_signal(signals.signal()).status_code == 200,
        timeout_s=30,
        interval_s=0.5,
        what="the gateway accepting signals again",
    )
    recovered = time.time()
    # The outage's failures stay in the alert windows (20 s on the fast profile) for a while:
    # watch through them, plus one evaluation, that no page goes out after recovery.
    deadline = recovered + 25
    while time.time() < deadline:
        assert _critical_firing_since(live, recovered) == [], "a page after NATS recovered"
        time.sleep(0.5)
    assert not _notified(live, "NATSPublishFailure", "firing", started), "the outage's failures paged NATSPublishFailure"
    _await_notified(live, "NATSServerDown", "resolved", started, timeout_s=30, what="NATSServerDown resolved")


def _move_opinions_stream(live: LiveStack, subjects: list[str]) -> None:
    # As the admin user: the stack refuses anonymous NATS clients (docs/security.md). An
    # anonymous connect here was why this test once hung for 120 s: nats-py retried it.
    asyncio.run(streams.reconfigure_stream(live.settings, "OPINIONS", subjects=subjects))


def test_an_agent_whose_opinion_publishes_fail_pages_critical(live: LiveStack):
    started = time.time()
    # OPINIONS stops taking opinions.>: every agent's publish fails ("no responders"),
    # each signal is nak'ed, redelivered and fails again (outcome="error").
    _move_opinions_stream(live, ["opinions-unavailable.>"])
    try:
        for _ in range(5):
            assert live.post_signal(signals.signal()).status_code == 200
        _, took = _await_notified(
            live,
            "AgentFailing",
            "firing",
            started,
            service="agent-risk",
            severity="critical",
            timeout_s=40,
            what="a critical AgentFailing notification for agent-risk",
        )
        print(f"AgentFailing paged {took:.1f} s after opinion publishes started failing")
    finally:
        _move_opinions_stream(live, ["opinions.>"])
    _await_notified(
        live,
        "AgentFailing",
        "resolved",
        started,
        service="agent-risk",
        timeout_s=60,
        what="AgentFailing resolved once opinions are taken again",
    )


def test_a_single_threaded_spin_in_redis_reaches_highcpu(live: LiveStack):
    """Lua busy loops keep Redis' one thread busy: 100 % of a core, ~50 % of this machine.

    The spin is the chaos experiment's (chaos/high-cpu.yaml, RedisSpin): 10 ms chunks, so
    Redis keeps serving its other clients and RedisDown stays quiet. HighCPU goes pending on the
    per-core figure, holds through its fast 25 s `for` and reaches the receiver as a warning for
    service="redis"; it resolves once the spin stops. As in the experiment, Redis' thread and its
    stack's scheduling group spin at a raised priority (nice -15, put back after: RedisSpin), so
    a busy shared machine still gives it the core (at normal priority it skipped in CI at load
    9-17). It skips, with the experiment's own measured reason (``spin_could_not_test``), only
    when even then the spin did not hold the core for a whole hold.
    (This test once failed in every full run: it spun Redis as an anonymous client, which the
    stack refuses since per-service credentials, so nothing spun.)
    """
    if os.geteuid() != 0:
        pytest.skip("the spin's raised priority needs root (CAP_SYS_NICE), as chaos/high-cpu.yaml does")
    started = time.time()
    redis_pid = live.stack.supervisor.info("redis")[0].pid
    nice_before = os.getpriority(os.PRIO_PROCESS, redis_pid)
    # The experiment's spin (actions.burn_cpu): Redis' main thread and supervisord's session group.
    spin = RedisSpin(live.redis_admin_url, pid=redis_pid, group_pid=live.stack.supervisor.pid())
    path = AlertPath(live.settings, live.http)
    seen_core_percent = 0.0

    def highcpu_for_redis() -> list[dict]:
        nonlocal seen_core_percent
        core = live.query_value('process_cpu_core_usage_percent{service="redis"}') or 0.0
        seen_core_percent = max(seen_core_percent, core)
        alerts = live.http.get(live.url("prometheus") + "/api/v1/alerts").json()["data"]["alerts"]
        return [a for a in alerts if a["labels"]["alertname"] == "HighCPU" and a["labels"].get("service") == "redis"]

    spin.start()
    try:
        try:
            pending, took = eventually(highcpu_for_redis, timeout_s=20, interval_s=0.5, what="HighCPU for redis")
        except AssertionError:
            why = spin_could_not_test(path, "redis", "HighCPU", started) if spin.chunks > 0 else None
            if why is not None:
                pytest.skip(f"the machine is too busy to prove it, even at nice {spin.nice}: {why}")
            raise
        assert spin.chunks > 0, "the spin ran no chunk"
        print(
            f"HighCPU for redis after {took:.1f} s at {float(pending[0]['value']):.0f} % of a core "
            f"({spin.chunks} chunks of Lua; highest figure seen {seen_core_percent:.0f} %)"
        )
        assert float(pending[0]["value"]) > 90
        try:
            _, held = _await_notified(
                live,
                "HighCPU",
                "firing",
                started,
                service="redis",
                timeout_s=45,
                what="HighCPU for redis notified after its 25 s hold",
            )
        except AssertionError:
            # Pending once is not holding: the chaos experiment's judgment (inconclusive there).
            why = spin_could_not_test(path, "redis", "HighCPU", started)
            if why is not None:
                pytest.skip(f"the machine is too busy to prove the hold, even at nice {spin.nice}: {why}")
            raise
        print(f"HighCPU for redis notified {took + held:.1f} s after the spin started (nice {spin.nice})")
    finally:
        spin.stop()
    assert os.getpriority(os.PRIO_PROCESS, redis_pid) == nice_before, "the spin's raised priority was not put back"
    assert live.stack.supervisor.info("redis")[0].state == "RUNNING"
    _await_notified(
        live,
        "HighCPU",
        "resolved",
        started,
        service="redis",
        timeout_s=30,
        what="HighCPU for redis resolved once the spin stopped",
    )
    assert not _notified(live, "RedisDown", "firing", started), "a spinning Redis that still serves is not down"


def test_a_silent_alertmanager_is_reported_as_a_missing_watchdog(live: LiveStack):
    """The receiver notices on its own: metric, log line, /watchdog and `atctl alerts`."""

    def watchdog() -> dict:
        return live.http.get(live.url("receiver") + "/watchdog").json()

    eventually(lambda: watchdog()["state"] == "ok", timeout_s=30, interval_s=0.5, what="the Watchdog arriving")
    interval = watchdog()["expected_interval_s"]
    assert interval <= 10, f"the fast profile's Watchdog should repeat within seconds, learned {interval} s"
    started = time.time()
    with _stopped(live, "alertmanager"):
        state, took = eventually(
            lambda: (s := watchdog())["state"] == "missing" and s,
            timeout_s=6 * interval + 10,
            interval_s=0.5,
            what="the receiver reporting the Watchdog missing",
        )
        print(f"Watchdog reported missing {took:.1f} s after Alertmanager stopped (expected every {interval} s)")
        assert live.metric_sample("receiver", "receiver_watchdog_missing") == 1
        shown = runner.invoke(app, ["alerts", "--state-dir", str(live.stack.paths.state_dir)])
        assert shown.exit_code == 1 and "Watchdog MISSING" in shown.stdout, shown.output
        # The receiver writes its own log file, at most 100 ms after a line (telemetry/log_file.py):
        # ci21 read it right after /watchdog said "missing" and the line was not there yet.
        eventually(
            lambda: "watchdog_missing" in live.stack.log_file("receiver").read_text(),
            timeout_s=5,
            interval_s=0.1,
            what="the receiver's watchdog_missing log line",
        )
    eventually(lambda: watchdog()["state"] == "ok", timeout_s=30, interval_s=0.5, what="the Watchdog back")
    assert live.metric_sample("receiver", "receiver_watchdog_missing") == 0
    eventually(
        lambda: (
            not [n for n in live.notifications(status="firing", since=started) if n["alertname"] not in ("Watchdog",)]
            or _notified(live, "TargetDown", "resolved", started)
        ),
        timeout_s=40,
        interval_s=0.5,
        what="what fired about the stopped Alertmanager resolved",
    )


@pytest.mark.timeout(330, func_only=True)
def test_a_paused_orchestrator_trips_the_canary_and_the_fast_burn_while_supervisord_says_running(live: LiveStack):
    """Last in the module: the burn it causes fills the SLOs' long windows (10 m on the fast
    profile) with bad events, and then any blip within them, such as the late decisions while
    the pipeline reconnects after a NATS outage, pages again (docs/alerting.md)."""
    started = time.time()
    live.stack.pause("orchestrator")
    try:
        _, took = _await_notified(
            live,
            "CanarySignalsUndecided",
            "firing",
            started,
            severity="critical",
            timeout_s=60,
            what="a critical CanarySignalsUndecided notification",
        )
        print(f"CanarySignalsUndecided paged {took:.1f} s after `atctl pause orchestrator`")
        states = {s.name: s.state for s in live.stack.status()}
        assert live.stack.supervisor.info("orchestrator")[0].state == "RUNNING"
        assert states["orchestrator"] == "PAUSED"
        assert all(state in ("RUNNING", "PAUSED") for state in states.values()), states

        # Users' signals at 20/s while nothing decides them: the page-level burn of the
        # decision-latency objective (its 20-bad-event minimum is passed in about a second).
        def burning() -> list[dict]:
            for _ in range(10):
                assert live.post_signal(signals.signal()).status_code == 200
            return _notified(live, "SLOBurnRateFast", "firing", started, severity="critical")

        _, burned = eventually(burning, timeout_s=40, interval_s=0.5, what="a critical SLOBurnRateFast notification")
        print(f"SLOBurnRateFast paged {burned:.1f} s after signals began to arrive at 20/s")
    finally:
        live.stack.resume("orchestrator")
    resumed = time.time()
    # The burn resolves once the late signals leave the 20 s short window; in a full run
    # (long windows burnt by earlier tests, a busy machine) that took up to ~80 s.
    resolved: dict[str, float] = {}
    for alertname in ("CanarySignalsUndecided", "SLOBurnRateFast"):
        notes, _ = _await_notified(
            live, alertname, "resolved", started, timeout_s=120, what=f"{alertname} resolved once decisions flow again"
        )
        resolved[alertname] = min(n["received_at"] for n in notes)
        print(f"{alertname} resolved {resolved[alertname] - resumed:.1f} s after the resume")
    # One incident, one page: the resolution holds for a whole page window (20 s), in which the
    # end of the signal flow and the late signals leave the window. When good and total were
    # counted on two clocks the burn fired again 3-9 s after it was notified resolved.
    burn_resolved = resolved["SLOBurnRateFast"]
    while time.time() < burn_resolved + SLO_PAGE_WINDOW_S:
        again = _notified(live, "SLOBurnRateFast", "firing", burn_resolved + 0.001)
        assert not again, f"SLOBurnRateFast fired again {again[0]['received_at'] - burn_resolved:.1f} s after it resolved"
        time.sleep(0.5)
