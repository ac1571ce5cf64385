"""The Chaos Toolkit providers of atctl's experiments: faults (actions) and measurements (probes).

Experiment files name these as ``provider: {type: python, module:
agentic_trading.chaos.activities, func: ...}``. Each works on the running experiment's
:class:`~agentic_trading.chaos.session.Session`: faults mark the fault (or repair) time and
register their undo; probes poll with deadlines and record what they measured, and raise
(a failed activity) when an expectation does not hold.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from agentic_trading.chaos import partition as kernel
from agentic_trading.chaos.errors import ChaosError, FaultError
from agentic_trading.chaos.measure import first_notification, judge_signals, unexpected_alerts
from agentic_trading.chaos.observe import parse_time, poll_until
from agentic_trading.chaos.pressure import MalformedFlood, fill_redis, free_redis
from agentic_trading.chaos.proxy import FaultProxy
from agentic_trading.chaos.session import Session, current
from agentic_trading.chaos.signals import SignalFlow
from agentic_trading.chaos.toxics import Toxics
from agentic_trading.stack import StackError
from agentic_trading.stack.supervisor import RUNNING

QUIET_WITHIN_S = 90.0
FIRE_DEADLINE_MARGIN_S = 15.0
READY_WITHIN_S = 10.0

# -- steady state -----------------------------------------------------------------------------


def stack_is_healthy(within_s: float = 30.0) -> bool:
    """Every program of the stack healthy (polled up to ``within_s``)."""
    session = current()
    try:
        session.stack.wait_healthy(timeout=within_s)
    except StackError as exc:
        session.progress(f"not healthy: {exc}")
        return False
    return True


def only_watchdog_active(within_s: float = QUIET_WITHIN_S) -> bool:
    """Nothing but the Watchdog pending or firing in Prometheus (polled up to ``within_s``)."""
    session = current()
    left = session.alert_path.wait_for_quiet(within_s)
    if left:
        session.progress(f"still active after {within_s:g} s: {', '.join(sorted(left))}")
    return not left


# -- signals ------------------------------------------------------------------------------------


def start_signal_flow(per_s: float = 5.0) -> str:
    session = current()
    session.flow = SignalFlow(session.stack.settings, session.loop, per_s, tag=f"chaos-{session.experiment.name}")
    session.flow.start()
    session.on_undo("signal-flow", session.flow.stop)
    return f"{per_s:g} signals/s"


def settle_signal_flow(timeout_s: float = 60.0) -> dict[str, int]:
    """Stop the flow; every signal answered 200 must be decided exactly once (within ``timeout_s``)."""
    session = current()
    flow = session.flow
    if flow is None:
        raise ChaosError("settle_signal_flow without start_signal_flow")
    session.undo("signal-flow")
    settlement = flow.settle(timeout_s)
    session.observation.signals_accepted = len(settlement.accepted)
    session.observation.signals_decided = settlement.decided_once
    problems = judge_signals(len(settlement.accepted), settlement.decided_once, settlement.twice, settlement.lost)
    for problem in problems:
        session.problem(problem)
    if problems:
        raise ChaosError("; ".join(problems))
    return {"accepted": len(settlement.accepted), "decided_once": settlement.decided_once}


def send_signal_burst(count: int = 1000, concurrency: int = 50, marks_fault: bool = False) -> dict[str, int]:
    """``count`` fresh signals, ``concurrency`` at a time, through the running flow (so they are settled too).

    ``marks_fault``: the fault is complete when the burst has been sent (a backlog exists now).
    """
    session = current()
    if session.flow is None:
        raise ChaosError("send_signal_burst needs start_signal_flow before it")
    accepted = session.flow.burst(count, concurrency)
    session.progress(f"burst of {count} signals ({concurrency} at a time): {accepted} accepted")
    if marks_fault:
        session.mark_fault(f"{count} signals sent while an agent hangs")
    return {"sent": count, "accepted": accepted}


def gateway_refused_within(status: int = 503, deadline_s: float = 2.5) -> dict[str, int]:
    """Requests sent during the fault (so far) were answered ``status`` within ``deadline_s``, none hung.

    Waits until every request sent between the fault (+0.5 s, for connections already in
    flight) and this probe is answered, or ``deadline_s`` after the last of them.
    """
    session = current()
    flow, fault_at = session.flow, session.fault_at
    if flow is None or fault_at is None:
        raise ChaosError("gateway_refused_within needs a signal flow and a fault before it")
    start, end = fault_at + 0.5, time.time()
    poll_until(lambda: len(flow.answers_between(start, end)) >= flow.sent_between(start, end), deadline_s + 0.5)
    answers = flow.answers_between(start, end)
    hung = flow.sent_between(start, end) - len(answers)
    refused = [a for a in answers if a.status == status]
    slow = [a for a in answers if a.status != 200 and a.elapsed_s > deadline_s]
    if not refused:
        seen = sorted({str(a.status) for a in answers})
        raise ChaosError(
            f"the gateway answered no {status} during the fault ({len(answers)} answers: {', '.join(seen) or 'none'})"
        )
    if slow or hung:
        worst = max((a.elapsed_s for a in slow), default=0.0)
        raise ChaosError(f"{len(slow)} answers slower than {deadline_s:g} s (worst {worst:.2f} s), {hung} unanswered")
    session.progress(f"{len(refused)} of {len(answers)} requests during the fault answered {status} within {deadline_s:g} s")
    return {"refused": len(refused), "during_fault": len(answers)}


# -- process faults ---------------------------------------------------------------------------


def stop_program(name: str) -> str:
    session = current()
    session.on_undo(f"stopped:{name}", lambda: _start_if_stopped(name))
    session.mark_fault(f"stopped {name} (SIGTERM)")
    session.stack.stop(name)
    return name


def start_program(name: str, timeout_s: float = 30.0) -> str:
    session = current()
    session.mark_repair(f"started {name}")
    session.stack.start(name, timeout=timeout_s)
    return name


def kill_program(name: str) -> int:
    """SIGKILL, as a crash: supervisord restarts it."""
    session = current()
    pid = session.stack.kill(name)
    session.mark_fault(f"killed {name} (SIGKILL, pid {pid})")
    return pid


def pause_program(name: str, marks_fault: bool = True) -> str:
    """SIGSTOP: alive but hung. ``marks_fault: false`` when a later action completes the fault."""
    session = current()
    session.on_undo(f"paused:{name}", lambda: session.stack.resume(name))
    if marks_fault:
        session.mark_fault(f"paused {name} (SIGSTOP)")
    else:
        session.progress(f"paused {name} (SIGSTOP)")
    session.stack.pause(name)
    return name


def resume_program(name: str) -> str:
    session = current()
    session.mark_repair(f"resumed {name} (SIGCONT)")
    session.undo(f"paused:{name}")
    return name


def _start_if_stopped(name: str) -> None:
    stack = current().stack
    info = stack.supervisor.info(name)[0]
    if info.state != RUNNING:
        stack.start(name)


# -- network faults -----------------------------------------------------------------------------


def partition_program(name: str, dependency: str = "nats") -> str:
    """Drop every packet between ``name`` and ``dependency`` (kernel; a timeout, not a refusal)."""
    session = current()
    pid = session.stack.supervisor.info(name)[0].pid
    if not pid:
        raise FaultError(f"{name} is not running: cannot partition it")
    active = kernel.partition(pid, session.stack.settings.port(dependency), session.tag + name)
    session.on_undo(f"partition:{name}", lambda: _raise_problems(kernel.heal(active)))
    session.mark_fault(f"partitioned {name} from {dependency}: {active.describe()}")
    return active.describe()


def heal_program(name: str) -> str:
    session = current()
    if not session.undo(f"partition:{name}"):
        raise ChaosError(f"{name} is not partitioned")
    session.mark_repair(f"healed the partition of {name}")
    return name


def reroute_through_proxy(name: str, dependency: str = "nats") -> int:
    """Put the fault proxy (no toxics yet) on the edge from ``name`` to ``dependency``; return its port."""
    session = current()
    pid = session.stack.supervisor.info(name)[0].pid
    if not pid:
        raise FaultError(f"{name} is not running: cannot reroute it")
    port = session.stack.settings.port(dependency)
    proxy = FaultProxy("127.0.0.1", port)
    proxy_port = session.loop.run(proxy.start(), timeout=5)
    session.on_undo(f"proxy:{name}", lambda: session.loop.run(proxy.close(), timeout=10))
    with _quiet_connection_cut(name):
        active = kernel.reroute(pid, port, proxy_port, session.tag + name)
    session.on_undo(f"reroute:{name}", lambda: _end_reroute_quietly(name, active))
    session.extras[f"proxy:{name}"] = proxy
    session.progress(f"{name} → {dependency} now through the fault proxy on port {proxy_port}")
    return proxy_port


def set_toxics(name: str, latency_ms: float = 0, jitter_ms: float = 0, bandwidth_bps: float = 0, mode: str = "pass") -> str:
    """Change the proxy's toxics on ``name``'s rerouted edge; no toxics is the repair."""
    session = current()
    proxy = session.extras.get(f"proxy:{name}")
    if not isinstance(proxy, FaultProxy):
        raise ChaosError(f"{name} is not rerouted through the proxy: call reroute_through_proxy first")
    toxics = Toxics(latency_ms=latency_ms, jitter_ms=jitter_ms, bandwidth_bps=bandwidth_bps, mode=mode)
    session.loop.run(proxy.set_toxics(toxics), timeout=5)
    if toxics == Toxics():
        session.mark_repair(f"proxy on {name}'s edge passes traffic untouched again")
    else:
        if proxy.connections == 0:
            raise FaultError(f"the proxy on {name}'s edge carries no connection: the fault would hit nothing")
        session.mark_fault(f"{toxics.describe()} on {name}'s edge ({proxy.connections} connection(s))")
    return toxics.describe()


def end_reroute(name: str) -> str:
    session = current()
    session.undo(f"reroute:{name}")
    session.undo(f"proxy:{name}")
    session.extras.pop(f"proxy:{name}", None)
    return name


def _end_reroute_quietly(name: str, active: kernel.Reroute) -> None:
    with _quiet_connection_cut(name):
        _raise_problems(kernel.end_reroute(active))


@contextmanager
def _quiet_connection_cut(name: str) -> Iterator[None]:
    """Hold the signal flow while ``name``'s connection is cut and re-made, until it is ready again."""
    session = current()
    flow = session.flow
    if flow is None:
        yield
        return
    with flow.held_back():
        yield
        ready = session.stack.settings.url(name) + ("/readyz" if name == "gateway" else "/healthz")
        if not poll_until(lambda: _answers_ok(session, ready), READY_WITHIN_S):
            session.problem(f"{name} not ready {READY_WITHIN_S:g} s after its connection was re-made")


def _answers_ok(session: Session, url: str) -> bool:
    try:
        return session.http.get(url).status_code == 200
    except httpx.HTTPError:
        return False


def _raise_problems(problems: list[str]) -> None:
    if problems:
        raise FaultError("; ".join(problems))


# -- load faults ------------------------------------------------------------------------------


def start_malformed_flood(per_s: float = 20.0) -> str:
    session = current()
    flood = MalformedFlood(session.stack.settings, session.loop, per_s)
    flood.start()
    session.on_undo("flood", flood.stop)
    session.mark_fault(f"flood of the specification's malformed webhooks at {per_s:g}/s")
    return f"{per_s:g}/s"


def stop_malformed_flood() -> str:
    session = current()
    session.undo("flood")
    session.mark_repair("flood stopped")
    return "stopped"


def fill_redis_memory(percent: float = 93.0) -> float:
    session = current()
    url = session.stack.settings.redis_url
    session.on_undo("redis-fill", lambda: free_redis(url))
    reached = fill_redis(url, percent)
    session.mark_fault(f"Redis filled to {reached:.1f} % of maxmemory")
    return round(reached, 1)


def free_redis_memory() -> str:
    session = current()
    session.undo("redis-fill")
    session.mark_repair("fill keys deleted")
    return "freed"


# -- the alert path -------------------------------------------------------------------------------


def wait_for_alert_firing(alert: str) -> dict[str, Any]:
    """Fault → firing in Prometheus → in Alertmanager → the receiver's notification, each timed."""
    session = current()
    if session.fault_at is None:
        raise ChaosError("no fault was injected before waiting for the alert")
    path = session.alert_path
    for_s = path.alert_for_s(alert)
    if for_s is None:
        session.problem(f"{alert} is not a rule the running Prometheus knows: it can never fire")
        raise ChaosError(f"{alert} never fired: no such alert rule loaded")
    budget = session.experiment.notify_budget_s(for_s)
    session.extras["notify_budget_s"] = budget
    seen = path.wait_for_firing(alert, session.fault_at, budget + FIRE_DEADLINE_MARGIN_S)
    obs = session.observation
    obs.time_to_alertmanager_s = _since(seen.alertmanager, session.fault_at)
    if seen.notification is None:
        session.problem(f"{alert} never fired: no notification within {budget + FIRE_DEADLINE_MARGIN_S:g} s of the fault")
        raise ChaosError(f"{alert} never fired")
    session.fired = seen.notification
    obs.time_to_notify_s = float(seen.notification["received_at"]) - session.fault_at
    # Prometheus sends an alert with startsAt = the evaluation that made it fire (FiredAt).
    obs.time_to_fire_s = parse_time(seen.notification["startsAt"]) - session.fault_at
    # Alertmanager had it before the receiver did; a slow poll must not say otherwise.
    obs.time_to_alertmanager_s = min(obs.time_to_alertmanager_s or obs.time_to_notify_s, obs.time_to_notify_s)
    if obs.time_to_notify_s > budget:
        session.problem(f"{alert} notified {obs.time_to_notify_s:.1f} s after the fault (budget {budget:g} s)")
    return {"fire_s": obs.time_to_fire_s, "alertmanager_s": obs.time_to_alertmanager_s, "notify_s": obs.time_to_notify_s}


def wait_for_alert_resolved(alert: str) -> float:
    """Repair → the receiver's resolved notification of the episode that fired."""
    session = current()
    if session.fired is None:
        raise ChaosError(f"{alert} never fired, so it cannot resolve")
    if session.repaired_at is None:
        raise ChaosError("no repair was made before waiting for the resolution")
    fired = session.fired
    budget = session.experiment.resolve_within_s
    found = session.alert_path.wait_for_notification(
        lambda notes: first_notification(
            notes, alert, "resolved", fired["received_at"], fingerprint=fired["fingerprint"], starts_at=fired["startsAt"]
        ),
        since=fired["received_at"],
        deadline_s=budget + FIRE_DEADLINE_MARGIN_S + 30.0,
    )
    if found is None:
        session.problem(f"{alert} was never notified as resolved after the repair")
        raise ChaosError(f"{alert} never resolved")
    resolve = float(found["received_at"]) - session.repaired_at
    session.observation.time_to_resolve_s = resolve
    if resolve > budget:
        session.problem(f"{alert} resolved {resolve:.1f} s after the repair (budget {budget:g} s)")
    return resolve


def wait_for_watchdog_silence() -> float:
    """The dead man's switch released: the receiver gets the Watchdog `resolved` once no Prometheus sends it."""
    session = current()
    fault_at = session.fault_at
    if fault_at is None:
        raise ChaosError("no fault was injected before waiting for the Watchdog to stop")
    found = session.alert_path.wait_for_notification(
        lambda notes: first_notification(notes, "Watchdog", "resolved", fault_at), since=fault_at, deadline_s=30.0
    )
    if found is None:
        session.problem("the receiver never learned that the Watchdog stopped (no resolved Watchdog within 30 s)")
        raise ChaosError("Watchdog still looks alive")
    session.observation.time_to_notify_s = float(found["received_at"]) - fault_at
    return session.observation.time_to_notify_s


def wait_for_watchdog_back(within_s: float = 30.0) -> float:
    session = current()
    repaired_at = session.repaired_at
    if repaired_at is None:
        raise ChaosError("no repair before waiting for the Watchdog to come back")
    found = session.alert_path.wait_for_notification(
        lambda notes: first_notification(notes, "Watchdog", "firing", repaired_at), since=repaired_at, deadline_s=within_s
    )
    if found is None:
        session.problem(f"the Watchdog was not notified again within {within_s:g} s of the repair")
        raise ChaosError("Watchdog did not come back")
    session.observation.time_to_resolve_s = float(found["received_at"]) - repaired_at
    return session.observation.time_to_resolve_s


def no_unexpected_alerts(settle_s: float = QUIET_WITHIN_S) -> list[str]:
    """After the repair, wait until quiet; every alert notified since the fault must be declared."""
    session = current()
    left = session.alert_path.wait_for_quiet(settle_s)
    if left:
        session.problem(f"still active {settle_s:g} s after the repair: {', '.join(sorted(left))}")
    experiment = session.experiment
    since = session.fault_at if session.fault_at is not None else session.started_at
    found = unexpected_alerts(session.alert_path.notifications(since=since), since, {experiment.alert, *experiment.also_notified})
    session.observation.unexpected_alerts = found
    if found:
        session.problem(f"alerts notified that the experiment does not declare: {', '.join(found)}")
        raise ChaosError(f"unexpected alerts: {', '.join(found)}")
    return found


# -- rollback -------------------------------------------------------------------------------------


def restore_stack(within_s: float = 60.0) -> str:
    """Undo every fault still active, then wait until every program is healthy."""
    session = current()
    failures = session.undo_all()
    session.stack.wait_healthy(timeout=within_s)
    if failures:
        raise FaultError("; ".join(failures))
    return "restored"


def _since(at: float | None, start: float) -> float | None:
    return None if at is None else at - start
