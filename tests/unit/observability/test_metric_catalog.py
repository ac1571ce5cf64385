"""observability/metrics.yaml against the code: what the services emit is catalogued, and only that.

The other direction (every metric a rule or a dashboard selects is catalogued, with its
labels) is the lint's (tests/unit/observability/test_lint.py); this file needs the code.
"""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from agentic_trading.observability import load_tree
from agentic_trading.telemetry import metrics

CATALOG = load_tree().catalog.metrics
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


def test_catalog_marks_exactly_the_contract() -> None:
    assert {name for name, spec in CATALOG.items() if spec.contract} == CONTRACT


@pytest.mark.parametrize("name", sorted(_code_metrics()))
def test_every_service_metric_is_catalogued_with_its_type_and_labels(name: str) -> None:
    kind, labels = _code_metrics()[name]
    assert name in CATALOG, f"{name} is emitted but missing from observability/metrics.yaml"
    assert CATALOG[name].type == kind
    assert CATALOG[name].labels == labels


def test_every_catalogued_service_metric_exists_in_the_code() -> None:
    code = _code_metrics()
    claimed = {name for name, spec in CATALOG.items() if spec.type != "info" and set(spec.sources) <= SERVICE_SOURCES}
    assert not claimed - set(code), f"catalogued but never emitted: {sorted(claimed - set(code))}"
