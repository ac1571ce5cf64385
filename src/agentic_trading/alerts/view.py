"""Rows for ``atctl alerts``: firing alerts, recent notifications, silences. Pure, no I/O.

Prometheus says what is pending or firing and since when; Alertmanager says whether a
firing alert was notified, silenced or inhibited. One row per alert joins the two on
their labels.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from agentic_trading.observability.durations import format_age

_RUNBOOK_PATH = re.compile(r"(docs/runbooks/[^/?#]+\.md)")
# Severity order for sorting: pages first.
_SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2, "none": 3}


@dataclass(frozen=True)
class AlertRow:
    alertname: str
    severity: str
    service: str
    state: str  # pending | firing (Prometheus), plus Alertmanager's: notified, silenced, inhibited
    since: str  # RFC 3339
    summary: str
    runbook: str  # docs/runbooks/<Alert>.md, or the URL when it is not one of ours
    labels: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SilenceRow:
    id: str
    matchers: str
    ends_at: str
    created_by: str
    comment: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def runbook_path(url: str) -> str:
    """``docs/runbooks/X.md`` for a runbook URL of this repository, else the URL unchanged."""
    match = _RUNBOOK_PATH.search(url or "")
    return match.group(1) if match else (url or "")


def _identity(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


def firing_now(alerts: Iterable[dict[str, Any]], always_firing: Iterable[str]) -> list[dict[str, Any]]:
    """The firing alerts of Prometheus' ``/api/v1/alerts``, those built to fire always left out.

    Not the ``ALERTS`` series: Prometheus writes no staleness marker for it when it shuts
    down, so after a restart an instant query returns the previous process's firing alerts
    for up to the 5-minute lookback (docs/alerting.md, "No stale alerts").
    """
    always = set(always_firing)
    return [a for a in alerts if a.get("state") == "firing" and a.get("labels", {}).get("alertname") not in always]


def alert_rows(prometheus_alerts: list[dict[str, Any]], alertmanager_alerts: list[dict[str, Any]] | None) -> list[AlertRow]:
    """Every pending or firing alert of Prometheus, with Alertmanager's view when known.

    ``alertmanager_alerts`` None means Alertmanager could not be asked: rows keep
    Prometheus' state. Alerts only Alertmanager knows (from another Prometheus, or not
    yet expired) are listed too.
    """
    manager: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}
    for alert in alertmanager_alerts or []:
        manager[_identity(alert.get("labels") or {})] = alert
    rows = []
    seen = set()
    for alert in prometheus_alerts:
        labels = dict(alert.get("labels") or {})
        key = _identity(labels)
        seen.add(key)
        state = str(alert.get("state", "firing"))
        if state == "firing" and alertmanager_alerts is not None:
            state = _manager_state(manager.get(key))
        rows.append(_row(labels, alert.get("annotations") or {}, state, str(alert.get("activeAt", ""))))
    for key, alert in manager.items():
        if key not in seen:
            rows.append(_row(dict(key), alert.get("annotations") or {}, _manager_state(alert), str(alert.get("startsAt", ""))))
    rows.sort(key=lambda r: (_SEVERITY_RANK.get(r.severity, 9), r.alertname, r.service))
    return rows


def _manager_state(alert: dict[str, Any] | None) -> str:
    if alert is None:
        return "firing"  # not (yet) at Alertmanager: sent within a second or two
    status = alert.get("status") or {}
    if status.get("silencedBy"):
        return "silenced"
    if status.get("inhibitedBy"):
        return "inhibited"
    return "notified"


def _row(labels: dict[str, str], annotations: dict[str, str], state: str, since: str) -> AlertRow:
    return AlertRow(
        alertname=labels.get("alertname", "?"),
        severity=labels.get("severity", ""),
        service=labels.get("service", ""),
        state=state,
        since=since,
        summary=annotations.get("summary", ""),
        runbook=runbook_path(annotations.get("runbook_url", "")),
        labels=labels,
    )


def silence_rows(silences: list[dict[str, Any]]) -> list[SilenceRow]:
    """The active silences, soonest ending first."""
    rows = []
    for silence in silences:
        if (silence.get("status") or {}).get("state") != "active":
            continue
        matchers = ", ".join(_matcher(m) for m in silence.get("matchers") or [])
        rows.append(
            SilenceRow(
                id=str(silence.get("id", "")),
                matchers=matchers,
                ends_at=str(silence.get("endsAt", "")),
                created_by=str(silence.get("createdBy", "")),
                comment=str(silence.get("comment", "")),
            )
        )
    return sorted(rows, key=lambda r: r.ends_at)


def _matcher(matcher: dict[str, Any]) -> str:
    equal = matcher.get("isEqual", True)
    op = ("=~" if equal else "!~") if matcher.get("isRegex") else ("=" if equal else "!=")
    return f'{matcher.get("name")}{op}"{matcher.get("value")}"'


def silence_request(
    alertname: str, duration_s: float, comment: str, created_by: str, now: datetime, service: str | None = None
) -> dict[str, Any]:
    """The body of Alertmanager's ``POST /api/v2/silences`` for one alert (and service)."""
    matchers = [{"name": "alertname", "value": alertname, "isRegex": False, "isEqual": True}]
    if service:
        matchers.append({"name": "service", "value": service, "isRegex": False, "isEqual": True})
    ends = datetime.fromtimestamp(now.timestamp() + duration_s, tz=UTC)
    return {
        "matchers": matchers,
        "startsAt": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "endsAt": ends.isoformat().replace("+00:00", "Z"),
        "createdBy": created_by,
        "comment": comment,
    }


def age(timestamp: str, now: datetime) -> str:
    """``3m12s``-style age of an RFC 3339 time (Prometheus and Alertmanager write nanoseconds)."""
    moment = parse_time(timestamp)
    if moment is None:
        return "-"
    return format_age(int((now - moment).total_seconds()))


def parse_time(timestamp: str) -> datetime | None:
    """An RFC 3339 time, fractional seconds cut to microseconds; None when unreadable."""
    if not timestamp or timestamp.startswith("0001-"):
        return None
    text = timestamp.replace("Z", "+00:00")
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _firing_items(rows: list[AlertRow]) -> list[str]:
    """What fires now, the Watchdog left out: one "Name (severity, service)" each."""
    firing = [r for r in rows if r.alertname != "Watchdog" and r.state != "pending"]
    if not firing:
        return ["nothing but the Watchdog" if any(r.alertname == "Watchdog" for r in rows) else "nothing"]
    return [f"{r.alertname} ({r.severity}{', ' + r.service if r.service else ''})" for r in firing]


def status_text(rows: list[AlertRow], width: int = 80) -> str:
    """``atctl status``'s "Firing: …" text, broken between alerts so no line passes ``width`` columns.

    Two alerts and the pointer to ``atctl alerts`` already passed 80 columns (two SLO burns); an
    alert is never split, continuation lines are indented under the first alert.
    """
    items = _firing_items(rows)
    words = [item + ("," if i < len(items) - 1 else "") for i, item in enumerate(items)] + ["(details: atctl alerts)"]
    lines, line = [], "Firing:"
    for word in words:
        gap = "  " if word.startswith("(details") else " "
        if len(line) + len(gap) + len(word) > width and line.strip():
            lines.append(line)
            line = " " * len("Firing:")
            gap = " "
        line += gap + word
    lines.append(line)
    return "\n".join(lines)
