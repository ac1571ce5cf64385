"""The pipeline as an operator sees it: traffic, decisions, lag, positions, firing alerts.

The figures come from Prometheus (rates over a window, and the rule manager's alerts) and
Redis (the paper positions); :func:`build_summary` turns the answers into a
:class:`PipelineSummary` without I/O, so it is unit-tested on fixture answers.

Firing alerts come from ``/api/v1/alerts``, as in ``atctl alerts`` and ``atctl verify``,
not from the ``ALERTS`` series, which reads as firing for up to 5 minutes after a
Prometheus restart (docs/alerting.md, "No stale alerts").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

import httpx
import redis

from agentic_trading.alerts.sources import AlertClient, AlertSourceError, AlertSources
from agentic_trading.alerts.view import firing_now
from agentic_trading.redis_keys import POSITIONS_KEY

WATCHDOG = "Watchdog"  # always firing by design: not a problem


def queries(window: str) -> dict[str, str]:
    """The PromQL of each figure, over ``window`` (a Prometheus duration such as ``5m``)."""
    return {
        "accepted": f'sum(rate(gateway_webhooks_total{{status="200"}}[{window}])) * 60',
        "refused": f'sum by (status) (rate(gateway_webhooks_total{{status!="200"}}[{window}])) * 60',
        "decisions": f"sum by (decision) (increase(orchestrator_decisions_total[{window}]))",
        "workflows": f"sum by (status) (increase(orchestrator_workflows_total[{window}]))",
        "lag": "sum by (consumer) (nats_consumer_pending_messages + nats_consumer_ack_pending_messages)",
    }


@dataclass
class PipelineSummary:
    window: str
    accepted_per_min: float = 0.0
    refused_per_min: dict[str, float] = field(default_factory=dict)  # by HTTP status
    decisions: dict[str, int] = field(default_factory=dict)  # execute, hold, reject
    workflows: dict[str, int] = field(default_factory=dict)  # completed, degraded, …
    consumer_lag: dict[str, int] = field(default_factory=dict)
    positions: dict[str, float] = field(default_factory=dict)
    firing_alerts: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what could not be read

    @property
    def degraded_ratio(self) -> float | None:
        total = sum(self.workflows.values())
        return self.workflows.get("degraded", 0) / total if total else None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "degraded_ratio": self.degraded_ratio}


def _by(samples: list[dict[str, Any]], label: str) -> dict[str, float]:
    return {str(s["metric"].get(label, "")): float(s["value"][1]) for s in samples}


def build_summary(
    window: str,
    answers: Mapping[str, list[dict[str, Any]] | None],
    positions: Mapping[str, float] | None,
    alerts: list[dict[str, Any]] | None = None,
) -> PipelineSummary:
    """Pure: Prometheus vectors and ``/api/v1/alerts`` (None: not answered) and Redis positions as one summary."""
    summary = PipelineSummary(window)
    failed = [name for name, samples in answers.items() if samples is None]
    if alerts is None:
        failed.append("alerts")
    if failed:
        summary.problems.append("Prometheus did not answer: " + ", ".join(failed))

    def vector(name: str) -> list[dict[str, Any]]:
        return answers.get(name) or []

    summary.accepted_per_min = round(sum(float(s["value"][1]) for s in vector("accepted")), 2)
    summary.refused_per_min = {k: round(v, 2) for k, v in _by(vector("refused"), "status").items() if v > 0}
    summary.decisions = {k: round(v) for k, v in _by(vector("decisions"), "decision").items()}
    summary.workflows = {k: round(v) for k, v in _by(vector("workflows"), "status").items()}
    summary.consumer_lag = {k: round(v) for k, v in _by(vector("lag"), "consumer").items()}
    summary.firing_alerts = sorted({str(a.get("labels", {}).get("alertname", "?")) for a in firing_now(alerts or [], [WATCHDOG])})
    if positions is None:
        summary.problems.append("Redis did not answer: positions unknown")
    else:
        summary.positions = {k: v for k, v in sorted(positions.items()) if v != 0}
    return summary


def query_prometheus(
    prometheus_url: str, promql: str, timeout_s: float = 2.0, http_options: Mapping[str, Any] | None = None
) -> list[dict[str, Any]] | None:
    """An instant vector, or None when Prometheus does not answer or refuses the query.

    ``http_options``: a secured Prometheus' credentials and CA (``web_access.web_client_options``).
    """
    try:
        with httpx.Client(timeout=timeout_s, trust_env=False, **(http_options or {})) as client:
            response = client.get(prometheus_url + "/api/v1/query", params={"query": promql})
            response.raise_for_status()
            body = response.json()
    except (httpx.HTTPError, ValueError):
        return None
    result = body.get("data", {}).get("result") if isinstance(body, dict) else None
    return result if isinstance(result, list) else None


def read_positions(client: redis.Redis) -> dict[str, float] | None:
    try:
        raw = client.hgetall(POSITIONS_KEY)
    except redis.RedisError:
        return None
    return {k.decode(): float(v) for k, v in raw.items()}


def read_alerts(sources: AlertSources) -> list[dict[str, Any]] | None:
    """Prometheus' pending and firing alerts now, or None when it does not answer."""
    try:
        with AlertClient(sources) as client:
            return client.prometheus_alerts()
    except AlertSourceError:
        return None


def collect_summary(
    sources: AlertSources,
    redis_client: redis.Redis,
    window: str = "5m",
    query: Callable[[str, str], list[dict[str, Any]] | None] | None = None,
) -> PipelineSummary:
    """``query`` asks Prometheus; by default ``query_prometheus`` with ``sources``' credentials and CA."""
    ask = query or partial(query_prometheus, http_options=sources.http_options)
    answers = {name: ask(sources.prometheus, promql) for name, promql in queries(window).items()}
    return build_summary(window, answers, read_positions(redis_client), read_alerts(sources))
