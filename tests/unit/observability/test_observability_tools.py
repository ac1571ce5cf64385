"""The repository's tree through the real tools: promtool, amtool, and the fast profile firing in seconds.

What a user would notice if any of these broke: Prometheus refusing its config, an alert
that cannot fire (or fires on healthy data), a notification routed to the wrong receiver,
a fast stack that takes minutes to alert.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from agentic_trading.observability import load_tree
from agentic_trading.observability.render import rule_documents
from agentic_trading.settings import Settings
from agentic_trading.stack.observability import default_source_dir, render_observability

OBSERVABILITY = default_source_dir()

TREE = load_tree()
RULE_FILES = [f.path for f in TREE.recording_files + TREE.alert_files]


def run_tool(command: list[str]) -> subprocess.CompletedProcess[str]:
    """Run a checker; fail the test with its own output when it does not pass."""
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def test_prometheus_config_rules_and_unit_tests_pass_promtool(promtool: str) -> None:
    result = run_tool([promtool, "check", "config", str(TREE.prometheus.path)])
    # rule_files globs must find every file, or Prometheus silently loads fewer rules.
    assert f"{len(RULE_FILES)} rule files found" in result.stdout
    run_tool([promtool, "check", "rules", *map(str, RULE_FILES)])
    tested = run_tool([promtool, "test", "rules", *(str(t.path) for t in TREE.unit_tests)])
    assert tested.stdout.count("SUCCESS") == len(TREE.unit_tests)


def test_alertmanager_config_passes_amtool_and_routes_each_alert_by_severity(amtool: str) -> None:
    config = str(TREE.alertmanager.path)
    run_tool([amtool, "check-config", config])
    for alert in TREE.alerts:
        expected = "watchdog" if alert.name == "Watchdog" else {"none": "default"}.get(alert.severity, alert.severity)
        routed = run_tool(
            [
                amtool,
                "config",
                "routes",
                "test",
                f"--config.file={config}",
                f"alertname={alert.name}",
                f"severity={alert.severity}",
            ]
        )
        assert routed.stdout.strip() == expected, alert.name


def test_fast_profile_passes_promtool(promtool: str, amtool: str, tmp_path: Path) -> None:
    files = render_observability(Settings(port_offset=40000), tmp_path, profile="fast")
    result = run_tool([promtool, "check", "config", str(files.prometheus_config)])
    assert f"{len(RULE_FILES)} rule files found" in result.stdout
    run_tool([promtool, "check", "rules", *map(str, sorted(files.rules_dir.glob("*/*.yml")))])
    run_tool([amtool, "check-config", str(files.alertmanager_config)])


FAST_TEST = """
rule_files: [{alerts}/gateway.yml, {alerts}/agents.yml]
evaluation_interval: 1s
tests:
  - interval: 1s
    input_series:
      - series: 'up{{job="gateway", instance="i", service="gateway"}}'
        values: '1x9 0x19'
    alert_rule_test:
      - {{eval_time: 9s, alertname: GatewayDown, exp_alerts: []}}
      # A 10 s hold in the fast profile (a planned restart is shorter): down from 10s,
      # pending until 19s, firing at 20s.
      - {{eval_time: 19s, alertname: GatewayDown, exp_alerts: []}}
      - eval_time: 20s
        alertname: GatewayDown
        exp_alerts: [{{exp_labels: {{severity: critical, job: gateway, instance: i, service: gateway}}}}]
  - interval: 1s
    input_series:
      - series: 'gateway_webhooks_total{{job="gateway", service="gateway", status="200"}}'
        values: '0+10x60'
      - series: 'gateway_webhooks_total{{job="gateway", service="gateway", status="422"}}'
        values: '0x30 5+5x30'
      - series: 'gateway_validation_errors_total{{job="gateway", service="gateway", reason="missing_field"}}'
        values: '0x30 5+5x30'
    alert_rule_test:
      # Invalid webhooks from 31s on; the first evaluation that sees them fires (for: 0s).
      - {{eval_time: 30s, alertname: GatewayHighErrorRate, exp_alerts: []}}
      - eval_time: 31s
        alertname: GatewayHighErrorRate
        exp_alerts: [{{exp_labels: {{severity: warning, job: gateway, service: gateway}}}}]
  - interval: 1s
    input_series:
      - series: 'gateway_webhooks_total{{job="gateway", service="gateway", status="200"}}'
        values: '0+1x60'
      - series: 'agent_messages_processed_total{{service="agent-risk", agent_type="risk", outcome="ok"}}'
        values: '0+1x20 20x40'
    alert_rule_test:
      # The agent stops at 20s; from 40s its 20s window is flat. AgentStalled keeps a
      # 5s fast hold (scrape phase between gateway and agent): pending at 44s, firing at 45s.
      - {{eval_time: 39s, alertname: AgentStalled, exp_alerts: []}}
      - {{eval_time: 44s, alertname: AgentStalled, exp_alerts: []}}
      - eval_time: 45s
        alertname: AgentStalled
        exp_alerts: [{{exp_labels: {{severity: warning, agent_type: risk, service: agent-risk}}}}]
"""


def test_fast_profile_alerts_fire_within_seconds(promtool: str, tmp_path: Path) -> None:
    alerts = tmp_path / "alerts"
    alerts.mkdir()
    for name, document in rule_documents(TREE, "fast").items():
        if not name.startswith("alerts/"):
            continue
        # This test is about timing: drop the annotations (promtool compares them too).
        for group in document["groups"]:
            for rule in group["rules"]:
                rule.pop("annotations", None)
        (alerts / Path(name).name).write_text(yaml.safe_dump(document))
    test_file = tmp_path / "fast_test.yml"
    test_file.write_text(FAST_TEST.format(alerts=alerts))
    run_tool([promtool, "test", "rules", str(test_file)])


def test_the_rendered_fast_profile_passes_its_own_promtool_cases(promtool: str, tmp_path: Path) -> None:
    """prometheus/tests/fast/*.yml, beside the rules as `atctl up` renders them (their README)."""
    files = render_observability(Settings(), tmp_path / "rendered", profile="fast")
    for path in (files.rules_dir / "alerts").glob("*.yml"):  # timing, not wording: promtool compares annotations
        document = yaml.safe_load(path.read_text())
        for group in document["groups"]:
            for rule in group["rules"]:
                rule.pop("annotations", None)
        path.write_text(yaml.safe_dump(document))
    tests_dir = files.rules_dir / "tests"
    tests_dir.mkdir()
    cases = sorted((OBSERVABILITY / "prometheus" / "tests" / "fast").glob("*.yml"))
    assert {case.stem for case in cases} >= {"gateway", "nats", "platform", "slos"}
    for case in cases:
        shutil.copy(case, tests_dir / case.name)
    result = run_tool([promtool, "test", "rules", *(str(tests_dir / case.name) for case in cases)])
    assert result.stdout.count("SUCCESS") == len(cases)
