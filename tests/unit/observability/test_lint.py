"""The lint: nothing on the repository's tree, exactly one named finding (file, line) per doctored fault.

Each doctored copy breaks one invariant the way a real edit would, and the lint must
name it once, at the place to fix, through the API and through ``atctl lint``.
"""

from __future__ import annotations

import json

import pytest
import yaml
from _tree_copy import TreeCopy
from typer.testing import CliRunner

from agentic_trading.cli.main import app
from agentic_trading.observability import lint_tree, load_tree

runner = CliRunner()


def test_the_repositorys_tree_has_no_findings() -> None:
    tree = load_tree()
    findings = lint_tree(tree)
    assert findings == [], "\n".join(finding.describe() for finding in findings)
    assert len(tree.alerts) >= 14 and len(tree.dashboards) >= 4, "the lint looked at the whole tree"


def _only(findings, code: str, file, line: int) -> None:
    assert [(f.code, f.file, f.line) for f in findings] == [(code, file, line)], "\n".join(f.describe() for f in findings)


def test_a_misspelt_metric_in_an_alert(tree_copy: TreeCopy) -> None:
    path = tree_copy.replace(
        "prometheus/alerts/gateway.yml", "rate(gateway_validation_errors_total[5m])", "rate(gateway_validaton_errors_total[5m])"
    )
    line = tree_copy.line_of(path, "expr:", after="alert: GatewayHighErrorRate")
    findings = tree_copy.lint()
    _only(findings, "alert-unknown-metric", path, line)
    assert "GatewayHighErrorRate selects gateway_validaton_errors_total" in findings[0].message


def test_an_unknown_label_in_an_alert(tree_copy: TreeCopy) -> None:
    path = tree_copy.replace("prometheus/alerts/redis.yml", "redis_up == 0", 'redis_up{role="primary"} == 0')
    findings = tree_copy.lint()
    _only(findings, "alert-unknown-label", path, tree_copy.line_of(path, "expr:", after="alert: RedisDown"))


def test_an_alert_without_a_test(tree_copy: TreeCopy) -> None:
    def drop_cases(text: str) -> str:
        document = yaml.safe_load(text)
        for group in document["tests"]:
            group["alert_rule_test"] = [c for c in group.get("alert_rule_test") or [] if c["alertname"] != "HighCPU"]
        return yaml.safe_dump(document, sort_keys=False)

    tree_copy.edit("prometheus/tests/platform.yml", drop_cases)
    path = tree_copy.root / "prometheus" / "alerts" / "platform.yml"
    findings = tree_copy.lint()
    _only(findings, "alert-untested", path, tree_copy.line_of(path, "- alert: HighCPU"))


def test_an_alert_tested_only_firing(tree_copy: TreeCopy) -> None:
    def drop_quiet(text: str) -> str:
        document = yaml.safe_load(text)
        for group in document["tests"]:
            cases = group.get("alert_rule_test") or []
            group["alert_rule_test"] = [c for c in cases if c["alertname"] != "RedisMemoryHigh" or c.get("exp_alerts")]
        return yaml.safe_dump(document, sort_keys=False)

    tree_copy.edit("prometheus/tests/redis.yml", drop_quiet)
    path = tree_copy.root / "prometheus" / "alerts" / "redis.yml"
    _only(tree_copy.lint(), "alert-no-quiet-test", path, tree_copy.line_of(path, "- alert: RedisMemoryHigh"))


def test_a_missing_runbook(tree_copy: TreeCopy) -> None:
    (tree_copy.runbooks / "HighCPU.md").unlink()
    path = tree_copy.root / "prometheus" / "alerts" / "platform.yml"
    findings = tree_copy.lint()
    _only(findings, "alert-no-runbook", path, tree_copy.line_of(path, "- alert: HighCPU"))
    assert str(tree_copy.runbooks / "HighCPU.md") in findings[0].message


def test_a_severity_outside_the_allowed_set(tree_copy: TreeCopy) -> None:
    path = tree_copy.replace("prometheus/alerts/orchestrator.yml", "severity: warning", "severity: page")
    _only(tree_copy.lint(), "alert-severity", path, tree_copy.line_of(path, "severity: page"))


def test_a_runbook_url_outside_the_base(tree_copy: TreeCopy) -> None:
    path = tree_copy.edit(
        "prometheus/alerts/orchestrator.yml",
        lambda text: text.replace("docs/runbooks/OrchestratorDown.md", "https://example.com/elsewhere/OrchestratorDown.md"),
    )
    _only(tree_copy.lint(), "alert-runbook-url", path, tree_copy.line_of(path, "runbook_url:"))


def test_a_dashboard_with_a_duplicate_uid(tree_copy: TreeCopy) -> None:
    path = tree_copy.replace("grafana_dashboards/pipeline.json", '"uid": "pipeline-001"', '"uid": "gateway-001"')
    findings = tree_copy.lint()
    _only(findings, "dashboard-duplicate-uid", path, tree_copy.line_of(path, '"uid": "gateway-001"'))
    assert "already used by gateway.json" in findings[0].message


def test_a_misspelt_metric_in_a_panel(tree_copy: TreeCopy) -> None:
    path = tree_copy.replace(
        "grafana_dashboards/gateway.json",
        "sum by (reason) (rate(gateway_validation_errors_total[1m]))",
        "sum by (reason) (rate(gateway_validation_error_total[1m]))",
    )
    lines = path.read_text().splitlines()
    expr_index = tree_copy.line_of(path, "gateway_validation_error_total") - 1
    target_line = next(i for i in range(expr_index, 0, -1) if lines[i].strip() == "{") + 1  # the target's "{"
    _only(tree_copy.lint(), "panel-unknown-metric", path, target_line)


def test_a_route_to_an_unknown_receiver(tree_copy: TreeCopy) -> None:
    path = tree_copy.replace("alertmanager/alertmanager.yml", "- receiver: warning\n", "- receiver: warnings\n")
    findings = tree_copy.lint()
    _only(findings, "route-unknown-receiver", path, tree_copy.line_of(path, "receiver: warnings"))
    assert "'warnings'" in findings[0].message and "default, critical, warning" in findings[0].message


def test_an_unused_catalog_metric(tree_copy: TreeCopy) -> None:
    path = tree_copy.replace(
        "metrics.yaml",
        "metrics:\n",
        "metrics:\n  gateway_ghost_total:\n    {type: counter, labels: [], source: gateway, help: Never shown}\n",
    )
    _only(tree_copy.lint(), "metric-unused", path, tree_copy.line_of(path, "gateway_ghost_total:"))


def test_atctl_lint_names_each_finding_and_exits_1(tree_copy: TreeCopy) -> None:
    tree_copy.replace("grafana_dashboards/pipeline.json", '"uid": "pipeline-001"', '"uid": "gateway-001"')
    tree_copy.replace("alertmanager/alertmanager.yml", "- receiver: warning\n", "- receiver: warnings\n")
    result = runner.invoke(app, ["lint", "--source", str(tree_copy.root), "--format", "json"])
    assert result.exit_code == 1, result.output
    body = json.loads(result.stdout)
    assert body["ok"] is False
    assert sorted((f["code"], f["file"].rsplit("/", 1)[-1]) for f in body["findings"]) == [
        ("dashboard-duplicate-uid", "pipeline.json"),
        ("route-unknown-receiver", "alertmanager.yml"),
    ]
    assert all(f["line"] > 0 for f in body["findings"])
    only_alerts = runner.invoke(app, ["lint", "--source", str(tree_copy.root), "--area", "alerts"])
    assert only_alerts.exit_code == 1
    assert "alertmanager.yml:" in only_alerts.stdout and ": route-unknown-receiver: " in only_alerts.stdout
    assert "pipeline.json" not in only_alerts.stdout


def test_atctl_lint_passes_on_the_repository_and_refuses_broken_files(tree_copy: TreeCopy) -> None:
    assert runner.invoke(app, ["lint"]).exit_code == 0
    tree_copy.replace("prometheus/alerts/nats.yml", "for: 5m", "for: 5 minutes")
    result = runner.invoke(app, ["lint", "--source", str(tree_copy.root)])
    assert result.exit_code == 2
    path = tree_copy.root / "prometheus" / "alerts" / "nats.yml"
    assert f"{path}:{tree_copy.line_of(path, 'for: 5 minutes')}: `for` of NATSConsumerLag" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("relative", "old", "new", "expected"),
    [
        ("prometheus/alerts/gateway.yml", "groups:", "groups: [", "not valid YAML"),
        ("grafana_dashboards/agents.json", '"panels": [', '"panels": [,', "not valid JSON"),
        ("metrics.yaml", "type: gauge, labels: [], source: gateway,", "type: gauges, labels: [], source: gateway,", "type"),
    ],
)
def test_a_broken_file_is_refused_with_its_line(tree_copy: TreeCopy, relative: str, old: str, new: str, expected: str) -> None:
    from agentic_trading.observability import ObservabilityError

    path = tree_copy.edit(relative, lambda text: text.replace(old, new, 1))
    with pytest.raises(ObservabilityError, match=expected) as raised:
        tree_copy.tree()
    assert f"{path}:" in str(raised.value) and f"{path}:0" not in str(raised.value)
