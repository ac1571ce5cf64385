"""Every metric object the services emit, defined here and nowhere else.

Each service builds its own set into its own registry, so a process exposes only
the metrics it owns (an agent never shows a ``gateway_*`` series at zero). Label
values are bounded: endpoints, statuses, reasons, agent types; never a signal id.
The names are the contract of ``ARCHITECTURE.md``; ``observability/metrics.yaml``
describes them for the checks and the docs.
Exporter metrics (``nats_*``, ``container_*``, ``supervised_process_*``) come from custom collectors in ``exporters/``.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, ProcessCollector, disable_created_metrics

from agentic_trading import __version__
from agentic_trading.signals import VALIDATION_REASONS
from agentic_trading.telemetry.labels import AUTH_FAILURE_REASONS, SIGNAL_DUE_OUTCOMES

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
WORKFLOW_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0)

WEBHOOK_ENDPOINTS = ("tradingview", "test")
WEBHOOK_STATUSES = ("200", "400", "401", "403", "408", "413", "415", "422", "429", "431", "500", "503")
AGENT_OUTCOMES = ("ok", "error")
WORKFLOW_STATUSES = ("completed", "degraded", "rejected", "failed")
DECISIONS = ("execute", "reject", "hold")

# `_created` series double every counter's exposition and no dashboard or alert reads them.
disable_created_metrics()


def register_build_info(registry: CollectorRegistry, service: str) -> None:
    """The build info and this process's ``process_*`` metrics, which stay per process in multiprocess mode."""
    Info("agentic_trading_build", "Version of the running service", registry=registry).info(
        {"version": __version__, "service": service}
    )
    # process_start_time_seconds tells a restart (a counter going back to 0) from a counter
    # going down; also CPU, memory and file descriptors of the process.
    ProcessCollector(registry=registry)


class GatewayMetrics:
    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        r = self.registry
        register_build_info(r, "gateway")
        self.webhooks = Counter("gateway_webhooks_total", "Webhooks received, valid or not", ["endpoint", "status"], registry=r)
        self.validation_errors = Counter("gateway_validation_errors_total", "Webhooks refused as invalid", ["reason"], registry=r)
        self.processing_duration = Histogram(
            "gateway_processing_duration_seconds",
            "Receipt of a webhook to its response",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.publish_failures = Counter(
            "gateway_nats_publish_failures_total", "Signal publishes JetStream did not acknowledge", registry=r
        )
        self.auth_failures = Counter(
            "gateway_auth_failures_total",
            "Webhooks refused 401 for a missing or wrong secret or signature, or 403 for their source",
            ["reason"],
            registry=r,
        )
        self.inflight_publishes = Gauge(
            "gateway_inflight_publishes",
            "Signals this worker is waiting for JetStream to acknowledge",
            registry=r,
            multiprocess_mode="livesum",  # with several workers: the gateway's total in flight
        )
        self.backpressure_rejections = Counter(
            "gateway_backpressure_rejections_total",
            "Webhooks answered 503 at once because AT_MAX_INFLIGHT_PUBLISHES publishes were already waiting",
            registry=r,
        )
        # With several workers: 0 as soon as any live worker lost its connection.
        self.nats_connected = Gauge(
            "gateway_nats_connected",
            "1 while the gateway holds a NATS connection",
            registry=r,
            multiprocess_mode="livemin",
        )
        self.signal_backlog = Gauge(
            "gateway_signal_backlog_seconds",
            "Age of the oldest signal not yet acknowledged by every consumer (the pipeline's lag)",
            registry=r,
            multiprocess_mode="livemax",  # every worker watches the same streams: the largest is the freshest bad news
        )
        self.duplicates = Counter(
            "gateway_duplicate_signals_total", "Accepted webhooks JetStream recognised as a retry", registry=r
        )
        self.signals_due = Counter(
            "gateway_signals_due_total",
            "Accepted signals counted 3 s after receipt by their decision: on_time (decided within the deadline"
            " plus 0.5 s), late (later or not at all), unverified (Redis unreadable)",
            ["outcome"],
            registry=r,
        )
        for endpoint in WEBHOOK_ENDPOINTS:
            self.processing_duration.labels(endpoint)
            for status in WEBHOOK_STATUSES:
                self.webhooks.labels(endpoint, status)
        for reason in VALIDATION_REASONS:
            self.validation_errors.labels(reason)
        for reason in AUTH_FAILURE_REASONS:
            self.auth_failures.labels(reason)
        for outcome in SIGNAL_DUE_OUTCOMES:
            self.signals_due.labels(outcome)


class AgentMetrics:
    def __init__(self, agent_type: str, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        r = self.registry
        register_build_info(r, f"agent-{agent_type}")
        self.agent_type = agent_type
        self.processed = Counter(
            "agent_messages_processed_total", "Signals an agent finished", ["agent_type", "outcome"], registry=r
        )
        self.confidence = Gauge(
            "agent_confidence_score", "Confidence (0..1) of the agent's latest opinion", ["agent_type"], registry=r
        )
        self.processing_duration = Histogram(
            "agent_processing_duration_seconds",
            "Time an agent spends on one signal",
            ["agent_type"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.vetoes = Counter("agent_vetoes_total", "Signals the agent vetoed", ["agent_type"], registry=r)
        self.last_processed = Gauge(
            "agent_last_processed_timestamp_seconds",
            "Unix time the agent last finished a signal",
            ["agent_type"],
            registry=r,
        )
        for outcome in AGENT_OUTCOMES:
            self.processed.labels(agent_type, outcome)
        self.confidence.labels(agent_type)
        self.processing_duration.labels(agent_type)
        self.vetoes.labels(agent_type)
        self.last_processed.labels(agent_type)


class OrchestratorMetrics:
    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        r = self.registry
        register_build_info(r, "orchestrator")
        self.workflows = Counter("orchestrator_workflows_total", "Workflows finished, by how they ended", ["status"], registry=r)
        self.workflow_duration = Histogram(
            "orchestrator_workflow_duration_seconds",
            "Gateway receipt of a signal to its decision",
            buckets=WORKFLOW_BUCKETS,
            registry=r,
        )
        self.decisions = Counter("orchestrator_decisions_total", "Decisions published, by decision", ["decision"], registry=r)
        self.missing_opinions = Counter(
            "orchestrator_missing_opinions_total",
            "Opinions a deadline decision went without, by agent",
            ["agent_type"],
            registry=r,
        )
        self.redeliveries = Counter(
            "orchestrator_duplicate_deliveries_total",
            "Messages that arrived again for a signal already decided",
            registry=r,
        )
        self.open_workflows = Gauge("orchestrator_open_workflows", "Workflows waiting for opinions", registry=r)
        for status in WORKFLOW_STATUSES:
            self.workflows.labels(status)
        for decision in DECISIONS:
            self.decisions.labels(decision)


class ReceiverMetrics:
    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        r = self.registry
        register_build_info(r, "receiver")
        self.notifications = Counter(
            "alert_notifications_received_total",
            "Alerts received from Alertmanager, by alert and status",
            ["alertname", "status"],
            registry=r,
        )
        # The dead man's switch watcher (receiver/watchdog.py): its own signal, not Alertmanager's.
        self.watchdog_missing = Gauge(
            "receiver_watchdog_missing",
            "1 while no Watchdog notification arrived within 3 expected intervals",
            registry=r,
        )
        self.watchdog_last_received = Gauge(
            "receiver_watchdog_last_received_timestamp_seconds",
            "Unix time the latest Watchdog notification arrived (0: none since the receiver started)",
            registry=r,
        )


# Send-to-decision of a canary signal; its deadline is a few decision deadlines (2 s each).
CANARY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0)


class CanaryMetrics:
    """The end-to-end probe (agentic_trading.canary): its signals sent, decided, and not decided."""

    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        r = self.registry
        register_build_info(r, "canary")
        self.sent = Counter("canary_signals_sent_total", "Canary signals the gateway accepted (200)", registry=r)
        self.send_failures = Counter(
            "canary_send_failures_total", "Canary signals the gateway did not accept, by reason", ["reason"], registry=r
        )
        self.decided = Counter("canary_signals_decided_total", "Canary signals decided within the deadline", registry=r)
        self.undecided = Counter(
            "canary_signals_undecided_total", "Canary signals accepted but not decided within the deadline", registry=r
        )
        self.decision_duration = Histogram(
            "canary_decision_duration_seconds",
            "A canary signal's send to its decision on decisions.>",
            buckets=CANARY_BUCKETS,
            registry=r,
        )
        self.last_decided = Gauge(
            "canary_last_decided_timestamp_seconds", "Unix time the latest canary signal was decided", registry=r
        )
