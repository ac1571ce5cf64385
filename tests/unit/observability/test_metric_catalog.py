"""observability/metrics.yaml against the code and against everything that queries metrics.

A renamed metric breaks an alert (it can never fire again) or a panel ("No data")
without any error. This checks both directions: the catalog agrees with the metric
objects in agentic_trading.telemetry.metrics, and every metric a rule or a dashboard
names is in the catalog or is a recording rule.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from _observability_tree import OBSERVABILITY, alert_rules, dashboard_queries, load_yaml, recording_rules
from prometheus_client import CollectorRegistry

from agentic_trading.telemetry import metrics

CATALOG: dict[str, dict[str, Any]] = load_yaml(OBSERVABILITY / "metrics.yaml")["metrics"]
SERVICE_SOURCES = {"gateway", "agents", "orchestrator", "receiver"}
# ARCHITECTURE.md, "Metric contract": the names the specification fixes.
CONTRACT = {
    "gateway_webhooks_total",
    "gateway_validation_errors_total",
    "gateway_processing_duration_seconds",
    "gateway_nats_publish_failures_total",
    "agent_messages_processed_total",
    "agent_confidence_score",
    "agent_processing_duration_seconds",
    "orchestrator_workflows_total",
    "orchestrator_workflow_duration_seconds",
    "nats_consumer_pending_messages",
    "redis_connected_clients",
    "redis_memory_usage_percent",
    "container_cpu_usage_percent",
}
_SUFFIXES = {"histogram": ("_bucket", "_count", "_sum"), "info": ("_info",)}
_LABEL_LIST = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right"}


def metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects (functions, labels, keywords left out)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = _LABEL_LIST.sub(" ", text)
    names = set()
    for match in re.finditer(r"(?<![\w.])[a-zA-Z_:][\w:]*", text):
        if text[match.end() :].lstrip().startswith("(") or match.group(0) in _KEYWORDS:
            continue
        names.add(match.group(0))
    return names


def _known_series() -> set[str]:
    known = set()
    for name, entry in CATALOG.items():
        known.update(name + suffix for suffix in _SUFFIXES.get(entry["type"], ("",)))
    return known | {name for name, _, _ in recording_rules()}


def _code_metrics() -> dict[str, tuple[str, tuple[str, ...]]]:
    """Exposed name -> (type, label names) for every metric object of the services."""
    found: dict[str, tuple[str, tuple[str, ...]]] = {}
    builders = (
        metrics.GatewayMetrics,
        lambda registry: metrics.AgentMetrics("momentum", registry),
        metrics.OrchestratorMetrics,
        metrics.ReceiverMetrics,
    )
    for build in builders:
        holder = build(CollectorRegistry())
        for attribute in vars(holder).values():
            name = getattr(attribute, "_name", None)
            kind = getattr(attribute, "_type", None)
            if name is None or kind is None:
                continue
            exposed = f"{name}_total" if kind == "counter" else name
            found[exposed] = (kind, tuple(attribute._labelnames))
        for family in holder.registry.collect():  # collectors, e.g. process_* of ProcessCollector
            if family.name.startswith("process_"):
                found[f"{family.name}_total" if family.type == "counter" else family.name] = (family.type, ())
    return found


def test_catalog_entries_are_complete() -> None:
    for name, entry in CATALOG.items():
        assert entry["type"] in {"counter", "gauge", "histogram", "info"}, name
        assert isinstance(entry["labels"], list) and entry.get("help"), name
        if entry["type"] == "counter":
            assert name.endswith("_total"), f"{name}: counters end in _total"


def test_catalog_marks_exactly_the_contract() -> None:
    assert {name for name, entry in CATALOG.items() if entry.get("contract")} == CONTRACT


@pytest.mark.parametrize("name", sorted(_code_metrics()))
def test_every_service_metric_is_catalogued_with_its_type_and_labels(name: str) -> None:
    kind, labels = _code_metrics()[name]
    assert name in CATALOG, f"{name} is emitted but missing from observability/metrics.yaml"
    assert CATALOG[name]["type"] == kind
    assert tuple(CATALOG[name]["labels"]) == labels


def test_every_catalogued_service_metric_exists_in_the_code() -> None:
    code = _code_metrics()
    claimed = {
        name for name, entry in CATALOG.items() if entry["type"] != "info" and set(_as_list(entry["source"])) <= SERVICE_SOURCES
    }
    assert not claimed - set(code), f"catalogued but never emitted: {sorted(claimed - set(code))}"


def _as_list(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


def test_metric_names_are_found_in_promql() -> None:
    expr = 'sum by (le) (rate(a_bucket{x=~"b|c"}[5m])) / on() group_left count(up == 0) or vector(1e3)'
    assert metric_names(expr) == {"a_bucket", "up"}


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda r: r.name)
def test_alerts_use_only_known_metrics(rule) -> None:
    unknown = metric_names(rule.expr) - _known_series()
    assert not unknown, f"{rule.name} uses metrics not in observability/metrics.yaml: {sorted(unknown)}"


def test_recording_rules_use_only_known_metrics() -> None:
    for name, _, expr in recording_rules():
        unknown = metric_names(expr) - _known_series()
        assert not unknown, f"{name} uses metrics not in observability/metrics.yaml: {sorted(unknown)}"


def test_dashboards_use_only_known_metrics() -> None:
    for uid, title, expr in dashboard_queries():
        unknown = metric_names(expr) - _known_series()
        assert not unknown, f"{uid} panel {title!r} uses metrics not in observability/metrics.yaml: {sorted(unknown)}"
