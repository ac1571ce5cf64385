"""Facts of this repository's tree that no general lint knows: names the specification fixes, the
agent selector, the watchdog path, where Grafana finds things. Read through the model.
"""

from __future__ import annotations

import re

from agentic_trading.observability import load_tree
from agentic_trading.observability.source import read_yaml
from agentic_trading.settings import Settings

TREE = load_tree()
DATASOURCE = {"type": "prometheus", "uid": "prometheus"}


def test_the_alerts_the_specification_names_exist() -> None:
    names = {alert.name for alert in TREE.alerts}
    assert {"GatewayDown", "GatewayHighErrorRate", "GatewayHighLatency", "NATSPublishFailure"} <= names
    assert TREE.alert("GatewayHighErrorRate").threshold is not None
    assert str(TREE.alert("GatewayHighErrorRate").threshold) == "> 0.01"  # the specification's 1 %
    assert str(TREE.alert("GatewayHighLatency").threshold) == "> 0.5"  # p95 above 500 ms


def test_every_scrape_job_is_covered_by_a_down_alert() -> None:
    jobs = {job.name for job in TREE.prometheus.jobs}
    dedicated = {
        job
        for alert in TREE.alerts
        if alert.name != "TargetDown"
        for job in re.findall(r'up\{job="([^"]+)"\}\s*==\s*0', alert.expr)
    }
    excluded = set(re.search(r'job!~"([^"]+)"', TREE.alert("TargetDown").expr).group(1).split("|"))
    assert excluded == dedicated, "TargetDown must leave out exactly the jobs that have their own *Down alert"
    assert dedicated <= jobs, f"alerts watch jobs Prometheus does not scrape: {dedicated - jobs}"


def test_routes_keep_production_timings_and_every_receiver_is_the_alert_receiver() -> None:
    route = TREE.alertmanager.route
    assert route.group_by == ("alertname", "service")
    assert (route.group_wait, route.group_interval, route.repeat_interval) == ("30s", "5m", "4h")
    default_url = f"http://127.0.0.1:{Settings.model_fields['receiver_port'].default}/alerts"
    assert all(receiver.webhook_urls == (default_url,) for receiver in TREE.alertmanager.receivers)
    document = TREE.alertmanager.document
    assert all(hook["send_resolved"] is True for r in document["receivers"] for hook in r["webhook_configs"])


def test_the_four_dashboards_are_current_grafana_json() -> None:
    assert {d.uid for d in TREE.dashboards} >= {"gateway-001", "agents-001", "pipeline-001", "infrastructure-001"}
    for dashboard in TREE.dashboards:
        assert dashboard.document["schemaVersion"] == 39, dashboard.path.name
        assert dashboard.document["id"] is None, "provisioned dashboards carry no database id"
        for panel in dashboard.panels():
            assert panel.type in {"timeseries", "stat"} and panel.datasource == DATASOURCE, panel.location


def test_agents_dashboard_selects_agent_types() -> None:
    agents = TREE.dashboard("agents-001")
    variable = next(v for v in agents.variables() if v.name == "agent_type")
    assert variable.type == "query" and variable.include_all
    assert variable.query == "label_values(agent_messages_processed_total, agent_type)"
    for query in agents.queries():
        if "agent_" in query.expr or "consumer=~" in query.expr:
            assert "$agent_type" in query.expr, f"{query.label} ignores the agent_type selector"


def test_grafana_provisioning_points_at_prometheus_and_the_dashboards() -> None:
    provisioning = TREE.paths.root / "grafana" / "provisioning"
    datasources = read_yaml(provisioning / "datasources" / "prometheus.yml")["datasources"]
    assert [(d["uid"], d["type"]) for d in datasources] == [("prometheus", "prometheus")]
    providers = read_yaml(provisioning / "dashboards" / "dashboards.yml")["providers"]
    assert [p["options"]["path"] for p in providers] == ["/var/lib/grafana/dashboards"]


def test_only_the_alerts_that_would_fire_falsely_on_a_test_stack_keep_a_fast_hold() -> None:
    downs = {"GatewayDown", "AgentDown", "OrchestratorDown", "TargetDown", "NATSServerDown", "RedisDown"}
    longer = {"HighCPU", "OrchestratorDegradedWorkflows"}
    assert set(TREE.config.fast_hold) == downs | longer | {"NATSPublishFailure", "AgentStalled", "NATSConsumerLag"}
