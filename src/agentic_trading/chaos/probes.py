"""The Chaos Toolkit probes of atctl's experiments: the steady state and what each run measures.

Experiment files name these as ``provider: {type: python, module:
agentic_trading.chaos.probes, func: ...}``. Each polls with a deadline, records what it
measured on the running :class:`~agentic_trading.chaos.session.Session`, and raises (a
failed activity, so a failed experiment) when an expectation does not hold. Times are from
the fault (fire, Alertmanager, notify) or from the repair (resolve).
"""

from __future__ import annotations

import time
from typing import Any

from agentic_trading.chaos.errors import ChaosError
from agentic_trading.chaos.measure import first_notification, judge_refused, judge_signals, refiring, unexpected_alerts
from agentic_trading.chaos.neighbours import Neighbour
from agentic_trading.chaos.observe import AlertPath, parse_time, poll_until
from agentic_trading.chaos.session import Session, current
from agentic_trading.observability.slo import BURN_ALERTS, EVENTS_PREFIX, MIN_BAD_EVENTS, RECORD_PREFIX
from agentic_trading.stack import StackError

QUIET_WITHIN_S = 90.0
# Alerts whose windows outlast any experiment (minutes to an hour on the fast profile).
LONG_WINDOW_ALERTS = frozenset(alert for alert, *_ in BURN_ALERTS)
FIRE_DEADLINE_MARGIN_S = 15.0


def stack_is_healthy(within_s: float = 30.0) -> bool:
    """Every program of the stack healthy (polled up to ``within_s``)."""
    session = current()
    try:
        session.stack.wait_healthy(session.programs_to_check(), timeout=within_s)
    except StackError as exc:
        session.progress(f"not healthy: {exc}")
        return False
    return True


def only_watchdog_active(within_s: float = QUIET_WITHIN_S) -> bool:
    """Nothing but the Watchdog pending or firing in Prometheus (polled up to ``within_s``).

    Two kinds of alert may still be active from an earlier fault, never the experiment's own:
    those it declares as consequences of its fault (``also_notified``: they may notify during
    the run anyway), and the SLO burn alerts, whose windows outlast any experiment (the
    ticket's short window is 2 m, its long one 1 h on the fast profile): an earlier fault's
    burn says nothing about this one. Those SLO burns, and those whose long window already holds
    an earlier fault's minimum of bad events (any blip fires them again), are remembered, so
    that :func:`no_unexpected_alerts` does not blame this fault for them.
    """
    session = current()
    experiment = session.experiment
    # The Watchdog always fires (the watchdog experiment's own alert too: it proves the switch).
    allowed = frozenset({*experiment.also_notified, *LONG_WINDOW_ALERTS} - {experiment.alert}) | {"Watchdog"}
    # Experiments running alongside (--concurrency): their faults' declared alerts, never this one's own.
    allowed |= _neighbours_alerts(session, session.neighbours()) - {experiment.alert}
    left = session.alert_path.wait_for_quiet(within_s, allowed=allowed)
    if left:
        session.progress(f"still active after {within_s:g} s: {', '.join(sorted(left))}")
    elif session.fault_at is None:
        lingering = _primed_burn_alerts(session.alert_path) - {experiment.alert}
        session.extras["lingering"] = lingering
        if lingering:
            session.progress(f"SLO windows still hold an earlier fault's bad events: {', '.join(sorted(lingering))}")
    return not left


def _neighbours_alerts(session: Session, neighbours: list[Neighbour]) -> frozenset[str]:
    alerts = frozenset(alert for n in neighbours for alert in n.declared)
    if alerts:
        names = ", ".join(sorted(n.name for n in neighbours))
        session.progress(f"alongside {names}: tolerating their declared alerts {', '.join(sorted(alerts))}")
    return alerts


def _primed_burn_alerts(path: AlertPath) -> set[str]:
    """SLO burn alerts active now, or whose long window already holds the minimum of bad events.

    Either way an earlier fault's bad events are in the window, and any blip (one late canary
    signal in a 2-minute window is 1.6 %, above 6 x 0.1 %) fires them: not this fault's doing.
    """
    primed = path.active_in_prometheus() & LONG_WINDOW_ALERTS
    for alert, _severity, _factor, long_role, _short_role, _for in BURN_ALERTS:
        bad = path.query_max(f"{RECORD_PREFIX}{long_role} * {EVENTS_PREFIX}{long_role}")
        if bad is not None and bad >= MIN_BAD_EVENTS:
            primed.add(alert)
    return primed


def prometheus_shows(query: str, within_s: float = 60.0) -> bool:
    """A PromQL filter (``... == 1``) returns a series (polled up to ``within_s``).

    For a steady state that a window must hold: e.g. NATS seen up for a whole alert window, so
    an earlier experiment's NATS outage cannot silence NATSPublishFailure's ``unless``.
    """
    session = current()
    if poll_until(lambda: session.alert_path.query_max(query) is not None, within_s, interval_s=0.5) is None:
        session.progress(f"still no series after {within_s:g} s: {query}")
        return False
    return True


def settle_signal_flow(timeout_s: float = 60.0) -> dict[str, int]:
    """Stop the flow; every signal answered 200 must be decided exactly once (within ``timeout_s``)."""
    session = current()
    flow = session.flow
    if flow is None:
        raise ChaosError("settle_signal_flow without start_signal_flow")
    session.undo("signal-flow")
    settlement = flow.settle(timeout_s)
    problems = judge_signals(len(settlement.accepted), settlement.decided_once, settlement.twice, settlement.lost)
    unknown, refused_problems = judge_refused(flow.refused(), settlement.decided)
    if unknown:
        session.progress(
            f"{unknown} signals answered 503 outcome_unknown were stored after all and decided, as that answer warns"
        )
    problems += refused_problems
    session.observation.signals_accepted = len(settlement.accepted)
    session.observation.signals_decided = settlement.decided_once
    for problem in problems:
        session.problem(problem)
    if problems:
        raise ChaosError("; ".join(problems))
    return {"accepted": len(settlement.accepted), "decided_once": settlement.decided_once}


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
        explain = session.extras.get("explain_silence")
        why = explain(alert) if explain is not None else None
        if why is not None:  # the fault never reached the alert's threshold: nothing was tested
            session.inconclusive = f"{alert} not tested: {why}"
            session.progress(session.inconclusive)
            raise ChaosError(session.inconclusive)
        session.problem(f"{alert} never fired: no notification within {budget + FIRE_DEADLINE_MARGIN_S:g} s of the fault")
        raise ChaosError(f"{alert} never fired")
    session.fired = seen.notification
    obs.time_to_notify_s = float(seen.notification["received_at"]) - session.fault_at
    # Prometheus sends an alert with startsAt = the evaluation that made it fire (FiredAt).
    obs.time_to_fire_s = parse_time(seen.notification["startsAt"]) - session.fault_at
    # Alertmanager had it before the receiver did; a slow poll must not say otherwise.
    obs.time_to_alertmanager_s = min(obs.time_to_alertmanager_s or obs.time_to_notify_s, obs.time_to_notify_s)
    if obs.time_to_notify_s > budget:
        late = f"{alert} notified {obs.time_to_notify_s:.1f} s after the fault (budget {budget:g} s)"
        explain = session.extras.get("explain_late")
        why = explain(alert) if explain is not None else None
        if why is None:
            session.problem(late)
        else:  # it fired through its fault; its time measured the machine: said, not passed
            session.inconclusive = f"{late}: time not tested: {why}"
            session.progress(session.inconclusive)
    return {"fire_s": obs.time_to_fire_s, "alertmanager_s": obs.time_to_alertmanager_s, "notify_s": obs.time_to_notify_s}


def wait_for_alert_firing_for_each(alert: str, services: list[str], within_s: float = 15.0) -> list[str]:
    """Wait until the receiver has a firing ``alert`` for each of ``services``: a fault that fails them all pages for each.

    An alert with a label per service is one alert, and one page, per service. Repairing after
    the first page would let a service whose errors reached Prometheus a scrape later page for
    the first time after the repair (measured: agent-correlation 1 s after the other agents, which
    resolved 2 s after firing). Called between the first page and the repair.
    """
    session = current()
    fault_at = session.fault_at
    if fault_at is None:
        raise ChaosError(f"no fault was injected before waiting for {alert}")
    seen: set[str] = set()

    def every_one_paged() -> bool:
        notes = session.alert_path.notifications(since=fault_at)
        seen.update(n.get("labels", {}).get("service", "") for n in notes if n["alertname"] == alert and n["status"] == "firing")
        return set(services) <= seen

    if not poll_until(every_one_paged, within_s, interval_s=0.1):
        missing = ", ".join(sorted(set(services) - seen))
        session.problem(f"{alert} was not notified for {missing} within {within_s:g} s of the fault")
        raise ChaosError(f"{alert} never fired for {missing}")
    session.progress(f"{alert} notified for each of {', '.join(services)}")
    return sorted(services)


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
    session.extras["resolved_at"] = float(found["received_at"])
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
    """After the repair, wait until quiet; every alert notified since the fault must be declared.

    A declared consequence resolves on its own window and is not waited for; an SLO burn that
    was already active before the fault (:func:`only_watchdog_active`) is an earlier fault's.
    """
    session = current()
    experiment = session.experiment
    lingering = session.extras.get("lingering", set())
    declared = {experiment.alert, *experiment.also_notified}
    # Only the alerts of experiments that ran alongside this one (--concurrency), none other.
    declared |= _neighbours_alerts(session, session.neighbours(since=session.started_at))
    left = session.alert_path.wait_for_quiet(settle_s, allowed=frozenset({"Watchdog", *declared, *lingering}))
    if left:
        session.problem(f"still active {settle_s:g} s after the repair: {', '.join(sorted(left))}")
    since = session.fault_at if session.fault_at is not None else session.started_at
    resolved_at = session.extras.get("resolved_at")
    again = _fired_again(session, resolved_at) if resolved_at is not None else None
    if again is not None:  # one incident, two pages: a resolution that did not hold
        session.problem(
            f"{experiment.alert} fired again {float(again['received_at']) - resolved_at:.1f} s after it was notified "
            "resolved: the resolution did not hold"
        )
    found = unexpected_alerts(session.alert_path.notifications(since=since), since, declared | lingering)
    session.observation.unexpected_alerts = found
    if found:
        session.problem(f"alerts notified that the experiment does not declare: {', '.join(found)}")
        raise ChaosError(f"unexpected alerts: {', '.join(found)}")
    return found


def _fired_again(session: Session, resolved_at: float) -> dict[str, Any] | None:
    """A firing notification of the alert that fired, within its hold of the resolution (polled until then).

    An alert whose rule flaps at the repair (resolved, then firing again a few evaluations later)
    pages twice for one incident; the hold is mostly spent settling the signals anyway. The same
    alert of another service (another agent the fault also failed, scraped a second later) is
    not this one firing again (:func:`measure.refiring`); it is said, not judged.
    """
    fired = session.fired
    if fired is None:
        return None
    remaining = resolved_at + session.experiment.hold_resolved_s - time.time()
    again = session.alert_path.wait_for_notification(
        lambda notes: refiring(notes, fired, resolved_at), since=resolved_at, deadline_s=max(0.0, remaining)
    )
    others = [
        n
        for n in session.alert_path.notifications(since=resolved_at)
        if n["alertname"] == fired["alertname"] and n["status"] == "firing" and n.get("fingerprint") != fired.get("fingerprint")
    ]
    for other in others:
        session.progress(
            f"{fired['alertname']} for {other.get('labels', {}).get('service', '?')} fired "
            f"{float(other['received_at']) - resolved_at:.1f} s after the resolution of the one that fired first: "
            "another service's alert (its own page), not this one firing again"
        )
    return again


def _since(at: float | None, start: float) -> float | None:
    return None if at is None else at - start
