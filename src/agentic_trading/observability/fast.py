"""The fast profile: the same rules and routes with seconds instead of minutes.

What ``atctl up`` and the tests run (docs/architecture.md, "Monitoring"): 1 s
scrape and evaluation, a 900 ms scrape timeout, every alert's ``for`` set to its
fast hold time in ``config.yaml`` (0s when absent), every range window in alert
expressions scaled by fast/production evaluation interval (15s -> 1s: ``[5m]`` ->
``[20s]``, never under :data:`FAST_MIN_WINDOW_S`), and Alertmanager ``group_wait 0s``,
``group_interval 1s``, ``repeat_interval`` at most 1h (5 s for the Watchdog's route),
except the routes ``config.yaml`` gives a grouping of their own (``fast_profile.grouping``).
Recording rules keep their windows: their names promise one (``..._rate5m``); the SLO
error ratios (``slo:error_ratio:<role>``) are named by role and take the fast windows of
:data:`agentic_trading.observability.slo.FAST_WINDOWS`.

Pure functions over plain documents: they return changed copies.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping
from typing import Any

from agentic_trading.observability.config import ObservabilityConfig
from agentic_trading.observability.durations import format_duration, parse_duration
from agentic_trading.observability.errors import ObservabilityError
from agentic_trading.observability.slo import EVENTS_PREFIX, FAST_WINDOWS, RECORD_PREFIX

FAST_SCRAPE_INTERVAL = "1s"
FAST_EVALUATION_INTERVAL = "1s"
FAST_SCRAPE_TIMEOUT = "900ms"
FAST_GROUP_WAIT = "0s"
FAST_GROUP_INTERVAL = "1s"  # 0s is refused by Alertmanager
FAST_REPEAT_INTERVAL = "1h"
# A route that repeats more often than FAST_REPEAT_INTERVAL (the Watchdog, the dead man's
# switch) repeats this often, so the receiver notices a silent alert path in seconds.
FAST_HEARTBEAT_REPEAT_INTERVAL = "5s"
# Shortest range window after scaling: 4 scrapes, so rate() keeps 2 samples after a missed one.
FAST_MIN_WINDOW_S = 4.0

# A range selector: `[5m]`, `[1h30m]`. Subqueries (`[5m:1m]`) do not match and are refused.
_RANGE = re.compile(r"\[\s*((?:\d+(?:ms|s|m|h|d|w|y))+)\s*\]")
_SUBQUERY = re.compile(r"\[\s*(?:\d+(?:ms|s|m|h|d|w|y))+\s*:")


def scale_range_windows(expr: str, factor: float, minimum_s: float = FAST_MIN_WINDOW_S) -> str:
    """Multiply every range window in a PromQL expression by ``factor``.

    Results are rounded up to whole seconds and never shorter than ``minimum_s``.
    Subqueries are refused rather than half-scaled.
    """
    if _SUBQUERY.search(expr):
        raise ObservabilityError(f"cannot scale the windows of a subquery in: {expr.strip()}")

    def scaled(match: re.Match[str]) -> str:
        seconds = max(math.ceil(parse_duration(match.group(1)) * factor), minimum_s)
        return f"[{format_duration(seconds)}]"

    return _RANGE.sub(scaled, expr)


def window_factor(production_evaluation_interval: str) -> float:
    """How much shorter every alert window gets: fast / production evaluation interval."""
    return parse_duration(FAST_EVALUATION_INTERVAL) / parse_duration(production_evaluation_interval)


def fast_rule_document(document: dict[str, Any], kind: str, config: ObservabilityConfig, factor: float) -> dict[str, Any]:
    """A rule file in the fast profile: group intervals 1 s; for alerts, fast holds and scaled windows."""
    fast = copy.deepcopy(document)
    for group in fast.get("groups") or []:
        if "interval" in group:
            group["interval"] = FAST_EVALUATION_INTERVAL
        if kind != "alerts":
            for rule in group.get("rules") or []:
                # SLO error ratios are named by their window's role (slo:error_ratio:page_long),
                # not its length: they scale with the burn-rate alerts that read them.
                record = str(rule.get("record", ""))
                role = next((record[len(p) :] for p in (RECORD_PREFIX, EVENTS_PREFIX) if record.startswith(p)), None)
                if role in FAST_WINDOWS:
                    rule["expr"] = _RANGE.sub(f"[{FAST_WINDOWS[role]}]", str(rule["expr"]))
            continue
        for rule in group.get("rules") or []:
            if "alert" not in rule:
                continue
            try:
                rule["expr"] = scale_range_windows(str(rule["expr"]), factor)
            except ObservabilityError as error:
                raise ObservabilityError(f"alert {rule['alert']}: {error}") from error
            if "for" in rule:
                rule["for"] = config.fast_for(str(rule["alert"]))
    return fast


def fast_prometheus_document(document: dict[str, Any]) -> dict[str, Any]:
    """prometheus.yml with 1 s clocks: global intervals set, per-job intervals dropped."""
    fast = copy.deepcopy(document)
    fast.setdefault("global", {}).update(
        scrape_interval=FAST_SCRAPE_INTERVAL,
        evaluation_interval=FAST_EVALUATION_INTERVAL,
        scrape_timeout=FAST_SCRAPE_TIMEOUT,
    )
    for job in fast.get("scrape_configs") or []:
        job.pop("scrape_interval", None)
        job.pop("scrape_timeout", None)
    return fast


def fast_alertmanager_document(
    document: dict[str, Any], grouping: Mapping[str, Mapping[str, str]] | None = None
) -> dict[str, Any]:
    """alertmanager.yml with notifications at once: group_wait 0s, group_interval 1s, repeats ≤ 1h.

    ``grouping`` (alert name -> group_wait/group_interval) sets the timings of the route
    that matches exactly that alert name: the alerts that must be gathered into one
    notification even in the fast profile (``config.yaml``, ``fast_profile.grouping``).
    """
    fast = copy.deepcopy(document)
    for depth, route in _routes(fast.get("route") or {}):
        if depth == 0 or "group_wait" in route:
            route["group_wait"] = FAST_GROUP_WAIT
        if depth == 0 or "group_interval" in route:
            route["group_interval"] = FAST_GROUP_INTERVAL
        if depth == 0:
            route["repeat_interval"] = FAST_REPEAT_INTERVAL
        elif "repeat_interval" in route:
            own = parse_duration(route["repeat_interval"])
            if own < parse_duration(FAST_REPEAT_INTERVAL):
                route["repeat_interval"] = FAST_HEARTBEAT_REPEAT_INTERVAL
            else:
                route["repeat_interval"] = FAST_REPEAT_INTERVAL
    for alert, timings in (grouping or {}).items():
        routes = [route for depth, route in _routes(fast.get("route") or {}) if depth and _matches_only(route, alert)]
        if not routes:
            raise ObservabilityError(
                f"config.yaml fast_profile.grouping names {alert}, but no route of alertmanager.yml matches "
                f'alertname="{alert}" alone: add one, or remove the grouping'
            )
        for route in routes:
            route.update(timings)
    return fast


def _matches_only(route: dict[str, Any], alert: str) -> bool:
    """Whether the route's matchers are exactly ``alertname="<alert>"``."""
    matchers = [str(m).replace(" ", "") for m in route.get("matchers") or []]
    return matchers in ([f'alertname="{alert}"'], [f"alertname={alert}"])


def _routes(route: dict[str, Any], depth: int = 0):
    yield depth, route
    for child in route.get("routes") or []:
        yield from _routes(child, depth + 1)
