"""The observability/ tree as data, shared by the tests of this directory.

A module of its own (not conftest.py): several conftest.py files share that name, so
`from conftest import ...` would pick whichever was loaded last.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
OBSERVABILITY = REPO / "observability"
PROMETHEUS_DIR = OBSERVABILITY / "prometheus"
RUNBOOKS = REPO / "docs" / "runbooks"
DASHBOARDS = OBSERVABILITY / "grafana_dashboards"

SEVERITIES = ("critical", "warning", "info", "none")
# Built to fire always: a quiet case would be a broken alert path, not a passing test.
ALWAYS_FIRING = frozenset({"Watchdog"})


@dataclass(frozen=True)
class AlertRule:
    name: str
    file: Path
    expr: str
    for_: str | None
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


@cache
def alert_rules() -> tuple[AlertRule, ...]:
    rules = []
    for path in sorted((PROMETHEUS_DIR / "alerts").glob("*.yml")):
        for group in load_yaml(path)["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    rules.append(
                        AlertRule(
                            name=rule["alert"],
                            file=path,
                            expr=str(rule["expr"]),
                            for_=rule.get("for"),
                            labels=rule.get("labels") or {},
                            annotations=rule.get("annotations") or {},
                        )
                    )
    return tuple(rules)


@cache
def recording_rules() -> tuple[tuple[str, Path, str], ...]:
    records = []
    for path in sorted((PROMETHEUS_DIR / "rules").glob("*.yml")):
        for group in load_yaml(path)["groups"]:
            for rule in group["rules"]:
                if "record" in rule:
                    records.append((rule["record"], path, str(rule["expr"])))
    return tuple(records)


@cache
def thresholds() -> dict[str, Any]:
    return load_yaml(OBSERVABILITY / "thresholds.yaml")


def normalise(promql: str) -> str:
    """PromQL with all whitespace removed, for substring comparisons."""
    return re.sub(r"\s+", "", promql)


def run_tool(command: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a checker; fail the test with its own output when it does not pass."""
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def dashboard_panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, including those nested in rows."""
    panels = []
    for panel in dashboard.get("panels", []):
        panels.append(panel)
        panels.extend(panel.get("panels", []))
    return [p for p in panels if p.get("type") != "row"]


def dashboard_queries() -> list[tuple[str, str, str]]:
    """(dashboard uid, panel title, expr) for every target of every dashboard."""
    queries = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        dashboard = json.loads(path.read_text())
        for panel in dashboard_panels(dashboard):
            for target in panel.get("targets", []):
                queries.append((dashboard["uid"], panel["title"], target["expr"]))
    return queries
