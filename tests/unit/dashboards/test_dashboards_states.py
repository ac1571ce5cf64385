"""Variable states and declared-empty panels: the semantics grafana.js implements, in Python."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from agentic_trading.dashboards.library import default_dashboards_dir
from agentic_trading.observability.dashboard_states import describe_state, may_be_empty, variable_states

AGENTS = ["correlation", "momentum", "risk", "sentiment"]
MULTI = {"templating": {"list": [{"name": "agent_type", "multi": True, "includeAll": True}]}}


def test_a_multi_value_variable_is_checked_in_every_subset_and_all():
    states = variable_states(MULTI, {"agent_type": AGENTS})
    assert len(states) == 1 + 15
    assert {"agent_type": ["All"]} in states and {"agent_type": ["momentum", "risk"]} in states
    assert {"agent_type": AGENTS} in states


def test_variables_combine():
    document = {"templating": {"list": [{"name": "a", "includeAll": True}, {"name": "b"}]}}
    states = variable_states(document, {"a": ["1", "2"], "b": ["x", "y"]})
    assert len(states) == 3 * 2
    assert describe_state(states[0]) == "a=All, b=x"
    assert variable_states({"panels": []}, {}) == [{}]


def test_may_be_empty_only_where_the_panel_says():
    vetoes = {"mayBeEmpty": {"reason": "only risk vetoes", "when": {"agent_type": ["momentum", "sentiment", "correlation"]}}}
    options = {"agent_type": AGENTS}
    assert may_be_empty(vetoes, {"agent_type": ["momentum"]}, options)
    assert may_be_empty(vetoes, {"agent_type": ["momentum", "sentiment"]}, options)
    assert not may_be_empty(vetoes, {"agent_type": ["risk"]}, options)
    assert not may_be_empty(vetoes, {"agent_type": ["momentum", "risk"]}, options)
    assert not may_be_empty(vetoes, {"agent_type": ["All"]}, options), "All includes risk"
    assert may_be_empty({"mayBeEmpty": {"reason": "rare"}}, {}, {})
    assert not may_be_empty({}, {}, {})


def test_every_declaration_names_a_variable_and_values_of_its_dashboard():
    for path in sorted(default_dashboards_dir().glob("*.json")):
        document = json.loads(path.read_text())
        names = {v["name"] for v in document.get("templating", {}).get("list", [])}
        for panel in document["panels"]:
            rule = panel.get("mayBeEmpty")
            if rule is not None:
                assert rule.get("reason"), f"{path.name} / {panel['title']}: mayBeEmpty needs a reason"
                assert set(rule.get("when", {})) <= names, f"{path.name} / {panel['title']}: unknown variable"


def test_the_vendored_uplot_is_the_one_its_readme_names():
    vendor = Path(__file__).resolve().parents[3] / "src/agentic_trading/dashboards/static/vendor/uplot"
    readme = (vendor / "README.md").read_text()
    for name in ("uPlot.iife.min.js", "uPlot.min.css", "LICENSE"):
        digest = hashlib.sha256((vendor / name).read_bytes()).hexdigest()
        assert f"`{name}` | `{digest}`" in readme, name
