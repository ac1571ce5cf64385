"""The model: every part of the tree typed, with file and line, and the rendered rule files."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentic_trading.observability import ObservabilityError, load_tree
from agentic_trading.observability.render import rule_documents
from agentic_trading.observability.source import parse_yaml, read_json

TREE = load_tree()


def _line(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_every_alert_has_its_for_severity_threshold_runbook_and_place() -> None:
    alert = TREE.alert("GatewayHighErrorRate")
    path = TREE.paths.rules_dir / "alerts" / "gateway.yml"
    assert (alert.group, alert.for_, alert.for_s, alert.severity) == ("gateway.alerts", "2m", 120.0, "warning")
    # The ratio, and its minimum volume (5 invalid webhooks in the same window).
    assert str(alert.threshold) == "> 0.01" and alert.windows_s == (300.0, 300.0, 300.0)
    assert {s.metric for s in alert.selectors} == {"gateway_validation_errors_total", "gateway_webhooks_total"}
    assert alert.runbook_url == TREE.config.runbook_base_url + "GatewayHighErrorRate.md"
    assert alert.location.line == _line(path, "- alert: GatewayHighErrorRate")
    assert alert.at("runbook_url").line == _line(path, "runbooks/GatewayHighErrorRate.md")
    assert TREE.runbooks.page(alert.name) is not None


def test_dashboards_give_panels_targets_and_variables_with_lines() -> None:
    agents = TREE.dashboard("agents-001")
    panels = agents.panels()
    assert panels and all(panel.targets and panel.location.line > 0 for panel in panels)
    variable = agents.variables()[0]
    assert variable.name == "agent_type" and 0 < variable.location.line < _line(agents.path, '"name": "agent_type"') + 1
    assert agents.at("uid").line == _line(agents.path, '"uid": "agents-001"')


def test_the_rendered_rule_files_of_both_profiles() -> None:
    production = rule_documents(TREE, "production")
    fast = rule_documents(TREE, "fast")
    assert set(production) == set(fast) == {f"{f.kind}/{f.path.name}" for f in TREE.recording_files + TREE.alert_files}
    rule = next(r for g in fast["alerts/gateway.yml"]["groups"] for r in g["rules"] if r["alert"] == "GatewayHighErrorRate")
    assert rule["for"] == "0s" and "[20s]" in rule["expr"]
    assert type(production["alerts/gateway.yml"]) is dict, "plain data, for any YAML dumper"


def test_yaml_keeps_lines_and_names_the_place_of_a_syntax_error(tmp_path: Path) -> None:
    document = parse_yaml("a:\n  b: [1, 2]\n  c:\n    - x: 1\n", tmp_path / "f.yml")
    assert (document.line, document["a"].key_line("c"), document["a"]["c"][0].line) == (1, 3, 4)
    with pytest.raises(ObservabilityError, match=r"f\.yml:2: not valid YAML"):
        parse_yaml("a: 1\n b: [\n", tmp_path / "f.yml")


def test_json_keeps_lines_of_objects_and_keys(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text('{\n  "panels": [\n    {\n      "title": "x"\n    }\n  ],\n  "uid": "u"\n}\n')
    document = read_json(path)
    assert (document.key_line("uid"), document["panels"][0].line, document["panels"][0].key_line("title")) == (7, 3, 4)
