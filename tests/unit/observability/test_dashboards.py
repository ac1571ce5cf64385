"""Lint of the Grafana dashboards and their provisioning, without a Grafana server.

A broken dashboard shows as an empty or red panel only when someone opens it; these
checks catch it at commit time: JSON that Grafana refuses, duplicate uids, panels without
a datasource or a query, a query Prometheus cannot parse, the agent selector missing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from _observability_tree import DASHBOARDS, OBSERVABILITY, dashboard_panels, dashboard_queries, run_tool

DATASOURCE = {"type": "prometheus", "uid": "prometheus"}
PANEL_TYPES = {"timeseries", "stat"}
REQUIRED_UIDS = {"gateway-001", "agents-001", "pipeline-001", "infrastructure-001"}
DASHBOARD_FILES = sorted(DASHBOARDS.glob("*.json"))


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_dashboard_is_current_grafana_json(path: Path) -> None:
    dashboard = _load(path)  # raises on invalid JSON
    assert dashboard["schemaVersion"] == 39
    assert dashboard["uid"] and dashboard["title"]
    assert dashboard["id"] is None, "provisioned dashboards carry no database id"
    panel_ids = [panel["id"] for panel in dashboard_panels(dashboard)]
    assert len(panel_ids) == len(set(panel_ids)), "panel ids must be unique within a dashboard"


def test_dashboard_uids_are_unique_and_complete() -> None:
    uids = [_load(path)["uid"] for path in DASHBOARD_FILES]
    assert len(uids) == len(set(uids)), f"duplicate dashboard uids: {uids}"
    assert REQUIRED_UIDS <= set(uids)


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_every_panel_has_a_datasource_and_a_query(path: Path) -> None:
    for panel in dashboard_panels(_load(path)):
        where = f"{path.name}: panel {panel.get('title')!r}"
        assert panel["type"] in PANEL_TYPES, f"{where}: type {panel['type']!r}"
        assert panel.get("datasource") == DATASOURCE, f"{where}: datasource must be {DATASOURCE}"
        assert panel.get("gridPos"), f"{where}: no gridPos"
        targets = panel.get("targets") or []
        assert targets, f"{where}: no target"
        ref_ids = [target.get("refId") for target in targets]
        assert all(ref_ids) and len(ref_ids) == len(set(ref_ids)), f"{where}: refIds {ref_ids}"
        for target in targets:
            assert target.get("expr", "").strip(), f"{where}: empty expr"
            assert target.get("datasource", DATASOURCE) == DATASOURCE


def test_agents_dashboard_selects_agent_types() -> None:
    agents = _load(DASHBOARDS / "agents.json")
    assert agents["uid"] == "agents-001"
    variables = {v["name"]: v for v in agents["templating"]["list"]}
    variable = variables["agent_type"]
    assert variable["type"] == "query" and variable["datasource"] == DATASOURCE
    assert variable["query"]["query"] == "label_values(agent_messages_processed_total, agent_type)"
    assert variable["includeAll"] and variable["multi"]
    for panel in dashboard_panels(agents):
        for target in panel["targets"]:
            if "agent_" in target["expr"] or "consumer=~" in target["expr"]:
                assert "$agent_type" in target["expr"], f"{panel['title']!r} ignores the agent_type selector"


def test_every_query_parses(promtool: str, tmp_path: Path) -> None:
    """promtool parses each query as a recording rule; Grafana variables become '.*'."""
    rules = [
        {"record": f"dashboard:query:{index}", "expr": expr.replace("$agent_type", ".*")}
        for index, (_, _, expr) in enumerate(dashboard_queries())
    ]
    rule_file = tmp_path / "dashboard_queries.yml"
    rule_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    run_tool([promtool, "check", "rules", str(rule_file)])


def test_queries_use_no_grafana_only_macros() -> None:
    """The specification's query test sends each expr to Prometheus as it is."""
    for uid, title, expr in dashboard_queries():
        assert "$__" not in expr, f"{uid} {title!r}: Grafana macro in {expr}"


def test_grafana_provisioning_points_at_prometheus_and_the_dashboards() -> None:
    provisioning = OBSERVABILITY / "grafana" / "provisioning"
    datasources = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())["datasources"]
    assert [(d["uid"], d["type"]) for d in datasources] == [("prometheus", "prometheus")]
    providers = yaml.safe_load((provisioning / "dashboards" / "dashboards.yml").read_text())["providers"]
    assert [p["options"]["path"] for p in providers] == ["/var/lib/grafana/dashboards"]
