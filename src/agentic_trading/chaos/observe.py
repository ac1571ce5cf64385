"""The alert path as an experiment sees it: Prometheus, Alertmanager and the receiver, by HTTP.

Every wait here is a poll with a deadline. Times are wall-clock Unix seconds, the clock the
receiver stamps ``received_at`` with, so a fault time and a notification time compare directly.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import httpx

from agentic_trading.chaos.errors import ChaosError
from agentic_trading.settings import Settings

POLL_S = 0.1
T = TypeVar("T")


class AlertPathUnreachable(ChaosError):
    exit_code = 2


@dataclass(frozen=True)
class FiringSeen:
    """When one alert was first seen firing at each hop (Unix seconds; None: not seen)."""

    alertmanager: float | None
    notification: dict[str, Any] | None


class AlertPath:
    """Clients for one stack's Prometheus, Alertmanager and receiver."""

    def __init__(self, settings: Settings, http: httpx.Client):
        self.settings = settings
        self.http = http

    def _get(self, component: str, path: str, **params: Any) -> Any:
        url = self.settings.url(component) + path
        try:
            response = self.http.get(url, params=params or None)
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise AlertPathUnreachable(f"{component} at {url} is not answering ({exc}): is the stack up? (atctl status)") from exc

    def prometheus_alerts(self) -> list[dict[str, Any]]:
        return list(self._get("prometheus", "/api/v1/alerts")["data"]["alerts"])

    def received_by_alertmanager(self, alert: str) -> float | None:
        """When Alertmanager last got ``alert`` from Prometheus (``updatedAt``), if it is active there."""
        alerts = self._get("alertmanager", "/api/v2/alerts", active="true", silenced="false", inhibited="false")
        times = [parse_time(a["updatedAt"]) for a in alerts if a["labels"]["alertname"] == alert]
        return min(times) if times else None

    def firing_in_prometheus(self) -> set[str]:
        return {a["labels"]["alertname"] for a in self.prometheus_alerts() if a["state"] == "firing"}

    def active_in_prometheus(self) -> set[str]:
        """Alerts pending or firing."""
        return {a["labels"]["alertname"] for a in self.prometheus_alerts()}

    def query_max(self, promql: str, at: float | None = None) -> float | None:
        """The largest value of an instant PromQL query, now or ``at`` (Unix seconds) (None: no series)."""
        params = {"query": promql} if at is None else {"query": promql, "time": at}
        result = self._get("prometheus", "/api/v1/query", **params)["data"]["result"]
        return max((float(r["value"][1]) for r in result), default=None)

    def alert_rule(self, alert: str) -> dict[str, Any] | None:
        """The rule of ``alert`` as the running Prometheus loaded it (``query``, ``duration``; None: no such rule)."""
        for group in self._get("prometheus", "/api/v1/rules", type="alert")["data"]["groups"]:
            for rule in group["rules"]:
                if rule.get("name") == alert:
                    return dict(rule)
        return None

    def alert_for_s(self, alert: str) -> float | None:
        """The `for` of ``alert`` as the running Prometheus loaded it (None: no such rule)."""
        rule = self.alert_rule(alert)
        return None if rule is None else float(rule.get("duration", 0))

    def active_in_alertmanager(self) -> set[str]:
        alerts = self._get("alertmanager", "/api/v2/alerts", active="true", silenced="false", inhibited="false")
        return {a["labels"]["alertname"] for a in alerts}

    def notifications(self, **filters: Any) -> list[dict[str, Any]]:
        return list(self._get("receiver", "/notifications", **filters)["notifications"])

    def wait_for_firing(self, alert: str, since: float, deadline_s: float) -> FiringSeen:
        """Poll Alertmanager and the receiver until the receiver has a firing notification of ``alert``.

        In Alertmanager: ``updatedAt`` at the first poll that sees the alert (a resend can only
        make it later), never later than that poll. Prometheus' own firing time needs no poll:
        it is the notification's ``startsAt`` (the alert's ``activeAt``) plus the rule's ``for``.
        """
        alertmanager = None
        notification = None
        stop = since + deadline_s
        while True:
            now = time.time()
            if alertmanager is None and (updated_at := self.received_by_alertmanager(alert)) is not None:
                alertmanager = min(now, max(updated_at, since))
            found = self.notifications(alertname=alert, status="firing", since=since)
            if found:
                notification = min(found, key=lambda n: n["received_at"])
                break
            if time.time() >= stop:
                break
            time.sleep(POLL_S)
        return FiringSeen(alertmanager, notification)

    def wait_for_notification(
        self, check: Callable[[list[dict[str, Any]]], T | None], since: float, deadline_s: float
    ) -> T | None:
        """Poll the receiver's notifications since ``since`` until ``check`` returns something, or None at the deadline."""
        stop = time.time() + deadline_s
        while True:
            found = check(self.notifications(since=since))
            if found is not None or time.time() >= stop:
                return found
            time.sleep(POLL_S)

    def wait_for_quiet(self, deadline_s: float, allowed: frozenset[str] = frozenset({"Watchdog"})) -> set[str]:
        """Poll until nothing but ``allowed`` is pending or firing in Prometheus; return what still is at the deadline."""
        stop = time.time() + deadline_s
        while True:
            active = self.active_in_prometheus() - allowed
            if not active or time.time() >= stop:
                return active
            time.sleep(POLL_S * 2)


_FRACTION = re.compile(r"\.(\d{6})\d+")


def parse_time(text: str) -> float:
    """Unix seconds of an RFC 3339 time as Prometheus and Alertmanager write it (nanoseconds cut to µs)."""
    return datetime.fromisoformat(_FRACTION.sub(r".\1", text).replace("Z", "+00:00")).timestamp()


def poll_until(check: Callable[[], T | None], deadline_s: float, interval_s: float = POLL_S) -> T | None:
    """``check()`` until it returns something truthy, or None when ``deadline_s`` passes."""
    stop = time.monotonic() + deadline_s
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() >= stop:
            return None
        time.sleep(interval_s)
