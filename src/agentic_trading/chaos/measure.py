"""Pure judgement of one experiment from what was observed: times, unexpected alerts, verdict.

Notifications are the receiver's records (``GET /notifications``): dicts with
``alertname``, ``status``, ``received_at`` (Unix seconds), ``startsAt``, ``fingerprint``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

WATCHDOG = "Watchdog"
STATUSES = ("passed", "failed", "skipped", "inconclusive")


def first_notification(
    notifications: Iterable[Mapping[str, Any]],
    alert: str,
    status: str,
    since: float,
    *,
    fingerprint: str | None = None,
    starts_at: str | None = None,
) -> Mapping[str, Any] | None:
    """The earliest notification of ``alert`` with ``status`` received at or after ``since``.

    ``fingerprint``/``starts_at`` tie a resolved notification to the firing one it ends,
    so a late resolution of an earlier episode is never taken for this one's.
    """
    found = [
        n
        for n in notifications
        if n["alertname"] == alert
        and n["status"] == status
        and float(n["received_at"]) >= since
        and (fingerprint is None or n.get("fingerprint") == fingerprint)
        and (starts_at is None or n.get("startsAt") == starts_at)
    ]
    return min(found, key=lambda n: float(n["received_at"])) if found else None


def refiring(
    notifications: Iterable[Mapping[str, Any]], fired: Mapping[str, Any], resolved_at: float
) -> Mapping[str, Any] | None:
    """A firing notification of the very alert ``fired`` notified (same fingerprint) after ``resolved_at``: a flap.

    An alert with a label per service is one alert per service, each its own page group
    (Alertmanager groups by alertname and service): a fault that fails every agent fires
    AgentFailing four times, and a lagging agent's first firing can come after the first
    agent's resolution. That is not the first one's resolution failing to hold.
    """
    return first_notification(
        notifications, fired["alertname"], "firing", resolved_at + 0.001, fingerprint=fired.get("fingerprint")
    )


def unexpected_alerts(notifications: Iterable[Mapping[str, Any]], since: float, allowed: Iterable[str]) -> list[str]:
    """Alert names notified as firing since ``since`` that nobody declared (the Watchdog is always allowed)."""
    permitted = {*allowed, WATCHDOG}
    return sorted(
        {n["alertname"] for n in notifications if n["status"] == "firing" and float(n["received_at"]) >= since} - permitted
    )


@dataclass
class Figures:
    """What an experiment measures; seconds are from the fault (fire, notify) or the repair (resolve).

    The probes fill an :class:`Observation`; the experiment's result carries the same figures.
    """

    time_to_fire_s: float | None = None
    time_to_alertmanager_s: float | None = None
    time_to_notify_s: float | None = None
    time_to_resolve_s: float | None = None
    unexpected_alerts: list[str] = field(default_factory=list)
    signals_accepted: int | None = None
    signals_decided: int | None = None

    def figures(self) -> dict[str, Any]:
        """These figures alone, by field name (an observation's, for its experiment's result)."""
        return {figure.name: getattr(self, figure.name) for figure in fields(Figures)}


@dataclass
class Observation(Figures):
    """What one experiment saw while it ran."""

    problems: list[str] = field(default_factory=list)  # every assertion that did not hold, in order


def seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def judge_signals(accepted: int, decided_once: int, decided_twice: list[str], lost: list[str]) -> list[str]:
    problems = []
    if lost:
        problems.append(f"{len(lost)} of {accepted} accepted signals never decided (e.g. {', '.join(lost[:3])})")
    if decided_twice:
        problems.append(f"{len(decided_twice)} signals decided more than once (e.g. {', '.join(decided_twice[:3])})")
    return problems


def judge_refused(refused: Mapping[str, str], decided: Mapping[str, int]) -> tuple[int, list[str]]:
    """Signals the gateway refused (signal id -> kind of refusal) that were decided all the same.

    ``outcome_unknown`` promises exactly that possibility (the publish left, its acknowledgement
    did not come back; the sender's retry is a duplicate), so those are counted, not blamed;
    every other refusal (``bus_unavailable``, ``overloaded``, ``stream_full``) promised "not
    stored". Returns how many ``outcome_unknown`` signals were decided, and the problems.
    """
    decided_refused = {s: kind for s, kind in refused.items() if decided.get(s, 0) > 0}
    unknown = sum(1 for kind in decided_refused.values() if kind == "outcome_unknown")
    problems = []
    broken = sorted(f"{s} ({kind})" for s, kind in decided_refused.items() if kind != "outcome_unknown")
    if broken:
        problems.append(f"{len(broken)} signals refused as not stored were decided (e.g. {', '.join(broken[:3])})")
    twice = sorted(s for s in decided_refused if decided[s] > 1)
    if twice:
        problems.append(f"{len(twice)} refused signals decided more than once (e.g. {', '.join(twice[:3])})")
    return unknown, problems


def judge_cpu_share(most_percent: float | None, sustained_percent: float | None, threshold: float, hold_s: float) -> str | None:
    """Why a CPU alert that stayed quiet proves nothing, or None when its silence is a failure.

    ``sustained_percent`` is the best share the spin kept for a whole ``hold_s`` (the alert's
    ``for``). A spin that kept more than ``threshold`` that long should have fired the alert:
    silence is then the alert's fault (None). A spin that never did (the machine was too busy
    to give it a core) could not test the alert: the reason, with the measured shares. No sample
    at all is the exporter's fault, not the machine's (None).
    """
    if most_percent is None or sustained_percent is None:
        return None
    if sustained_percent > threshold:
        return None
    return (
        f"the spin never kept more than {threshold:g} % of a core for the alert's {hold_s:g} s "
        f"(best {sustained_percent:.0f} % held, at most {most_percent:.0f} % in one sample): "
        "the machine was too busy to test the alert"
    )


def judge_cpu_first_hold(first_hold_percent: float | None, threshold: float, hold_s: float, ramp_s: float) -> str | None:
    """Why a CPU alert notified after its budget says nothing of the alert path, or None when it is a failure.

    The budget (the alert's ``for`` + 3 s) presumes the spin kept the core from the fault on.
    ``first_hold_percent`` is the least share it kept over the first whole ``hold_s`` after
    ``ramp_s`` (the exporter's first interval straddles the fault). Above ``threshold`` the
    spin held and a late notification is the alert path's (None). Below it, one second the
    machine did not give the spin restarted the hold: the time measures the machine.
    """
    if first_hold_percent is None or first_hold_percent > threshold:
        return None
    return (
        f"the spin fell to {first_hold_percent:.0f} % of a core within its first {hold_s:g} s "
        f"(from {ramp_s:g} s after the fault; threshold {threshold:g} %), which restarted the alert's hold"
    )
