"""The pipeline summary from Prometheus answers and Redis positions, without a stack."""

from __future__ import annotations

from agentic_trading.cli.summary import summary_lines
from agentic_trading.stack.summary import build_summary, queries


def _v(label: str, **values: float) -> list[dict[str, object]]:
    return [{"metric": {label: key}, "value": [0, str(value)]} for key, value in values.items()]


ANSWERS = {
    "accepted": [{"metric": {}, "value": [0, "120.5"]}],
    "refused": _v("status", **{"422": 3.0, "401": 0.0}),
    "decisions": _v("decision", execute=40.0, hold=10.2, reject=50.0),
    "workflows": _v("status", completed=75.0, degraded=25.0),
    "lag": _v("consumer", **{"agent-risk": 12.0}),
}
# /api/v1/alerts: the rule manager's state now (a pending alert and the Watchdog are not problems).
ALERTS = [
    {"labels": {"alertname": "AgentDown", "service": "agent-risk"}, "state": "firing"},
    {"labels": {"alertname": "HighCPU", "service": "gateway"}, "state": "pending"},
    {"labels": {"alertname": "Watchdog"}, "state": "firing"},
]


def test_every_figure_an_operator_asks_for():
    s = build_summary("5m", ANSWERS, {"EURUSD": 2.0, "GBPUSD": 0.0}, ALERTS)
    assert s.accepted_per_min == 120.5 and s.refused_per_min == {"422": 3.0}
    assert s.decisions == {"execute": 40, "hold": 10, "reject": 50}
    assert s.degraded_ratio == 0.25 and s.consumer_lag == {"agent-risk": 12}
    assert s.positions == {"EURUSD": 2.0} and s.firing_alerts == ["AgentDown"] and s.problems == []


def test_what_could_not_be_read_is_named():
    s = build_summary("5m", {**ANSWERS, "lag": None}, None, None)
    assert s.problems == ["Prometheus did not answer: lag, alerts", "Redis did not answer: positions unknown"]
    assert s.degraded_ratio == 0.25


def test_the_window_is_used_and_alerts_are_not_read_from_the_stale_alerts_series():
    q = queries("1h")
    assert "[1h]" in q["decisions"] and not any("ALERTS" in promql for promql in q.values())


def test_lines_fit_80_columns():
    lag = {f"consumer-{i}": i for i in range(12)}
    s = build_summary("5m", {**ANSWERS, "lag": _v("consumer", **lag)}, {}, ALERTS)
    lines = summary_lines(s, 80)
    assert max(len(line) for line in lines) <= 80
    assert any(line.startswith(" " * 18 + "consumer-") for line in lines)
