"""The alert rules, their unit tests, runbooks and routing: checked with the real tools.

What a user would notice if any of these broke: Prometheus refusing its config, an alert
that cannot fire (or fires on healthy data), a page without a runbook, a threshold that
differs from the one documented, a notification that never reaches the receiver.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from _observability_tree import (
    ALWAYS_FIRING,
    OBSERVABILITY,
    PROMETHEUS_DIR,
    RUNBOOKS,
    SEVERITIES,
    alert_rules,
    load_yaml,
    normalise,
    recording_rules,
    run_tool,
    thresholds,
)

from agentic_trading.settings import Settings
from agentic_trading.stack.observability import render_observability

ALERT_FILES = sorted((PROMETHEUS_DIR / "alerts").glob("*.yml"))
RULE_FILES = sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))
TEST_FILES = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))
ALERT_NAMES = sorted(rule.name for rule in alert_rules())


def _alert_test_cases() -> list[tuple[str, bool]]:
    """(alertname, expects at least one alert) for every alert_rule_test in tests/*.yml."""
    cases = []
    for path in TEST_FILES:
        for group in load_yaml(path)["tests"]:
            for case in group.get("alert_rule_test") or []:
                cases.append((case["alertname"], bool(case.get("exp_alerts"))))
    return cases


# --- the real tools accept everything -------------------------------------------------


def test_prometheus_config_passes_promtool(promtool: str) -> None:
    result = run_tool([promtool, "check", "config", str(OBSERVABILITY / "prometheus.yml")])
    # rule_files globs must find every file, or Prometheus silently loads fewer rules.
    assert f"{len(RULE_FILES) + len(ALERT_FILES)} rule files found" in result.stdout


def test_rule_files_pass_promtool(promtool: str) -> None:
    run_tool([promtool, "check", "rules", *map(str, RULE_FILES + ALERT_FILES)])


def test_alert_unit_tests_pass(promtool: str) -> None:
    result = run_tool([promtool, "test", "rules", *map(str, TEST_FILES)])
    assert result.stdout.count("SUCCESS") == len(TEST_FILES)


def test_alertmanager_config_passes_amtool(amtool: str) -> None:
    run_tool([amtool, "check-config", str(OBSERVABILITY / "alertmanager" / "alertmanager.yml")])


# --- coverage: every alert is tested both ways -----------------------------------------


def test_there_are_alerts_and_names_are_unique() -> None:
    assert len(ALERT_NAMES) >= 14
    assert len(ALERT_NAMES) == len(set(ALERT_NAMES)), "two alerts share a name"
    for required in ("GatewayDown", "GatewayHighErrorRate", "GatewayHighLatency", "NATSPublishFailure"):
        assert required in ALERT_NAMES, f"{required} is fixed by the specification"


@pytest.mark.parametrize("alertname", ALERT_NAMES)
def test_every_alert_has_a_firing_and_a_quiet_unit_test(alertname: str) -> None:
    cases = [expects for name, expects in _alert_test_cases() if name == alertname]
    assert any(cases), f"no prometheus/tests/*.yml case shows {alertname} firing"
    if alertname not in ALWAYS_FIRING:
        assert not all(cases), f"no prometheus/tests/*.yml case shows {alertname} staying quiet (exp_alerts: [])"


def test_unit_tests_name_only_existing_alerts() -> None:
    stale = {name for name, _ in _alert_test_cases()} - set(ALERT_NAMES)
    assert not stale, f"tests for alerts that no longer exist: {sorted(stale)}"


@pytest.mark.parametrize("alert_file", ALERT_FILES, ids=lambda p: p.name)
def test_each_alert_file_has_a_test_file_of_the_same_name(alert_file: Path) -> None:
    test_file = PROMETHEUS_DIR / "tests" / alert_file.name
    assert test_file.is_file(), f"missing {test_file.relative_to(OBSERVABILITY)}"
    loaded = load_yaml(test_file)["rule_files"]
    assert f"../alerts/{alert_file.name}" in loaded
    if (PROMETHEUS_DIR / "rules" / alert_file.name).exists():
        assert f"../rules/{alert_file.name}" in loaded


@pytest.mark.parametrize("alert_file", ALERT_FILES, ids=lambda p: p.name)
def test_alerts_on_recorded_series_are_tested_after_the_recording(alert_file: Path) -> None:
    """promtool orders rule groups at random: an alert that reads a recording rule would
    see the previous evaluation's value in some runs and fire one interval late."""
    records = {name for name, _, _ in recording_rules()}
    uses_records = any(
        records & set(re.findall(r"[a-zA-Z_:][\w:]*", rule.expr)) for rule in alert_rules() if rule.file == alert_file
    )
    if uses_records:
        order = load_yaml(PROMETHEUS_DIR / "tests" / alert_file.name).get("group_eval_order") or []
        stem = alert_file.stem
        assert order[:2] == [f"{stem}.rules", f"{stem}.alerts"], f"tests/{alert_file.name}: set group_eval_order"


def test_every_recording_rule_is_unit_tested() -> None:
    tested = " ".join(
        case["expr"] for path in TEST_FILES for group in load_yaml(path)["tests"] for case in group.get("promql_expr_test") or []
    )
    untested = sorted({name for name, _, _ in recording_rules()} - set(re.findall(r"[a-zA-Z_:][\w:]*", tested)))
    assert not untested, f"recording rules without a promql_expr_test: {untested}"


# --- every page is actionable ----------------------------------------------------------


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda r: r.name)
def test_every_alert_has_severity_summary_description_and_runbook(rule) -> None:
    assert rule.labels.get("severity") in SEVERITIES, f"{rule.name}: severity must be one of {SEVERITIES}"
    summary = rule.annotations.get("summary", "")
    assert summary and "{{" not in summary, f"{rule.name}: a plain summary (templating belongs in description)"
    description = rule.annotations.get("description", "")
    assert "{{ $value" in description, f"{rule.name}: the description must show {{{{ $value }}}}"
    expected_url = f"{thresholds()['runbook_base_url']}{rule.name}.md"
    assert rule.annotations.get("runbook_url") == expected_url
    runbook = RUNBOOKS / f"{rule.name}.md"
    assert runbook.is_file(), f"missing runbook docs/runbooks/{rule.name}.md"
    text = runbook.read_text()
    assert text.startswith(f"# {rule.name}\n")
    for heading in ("## What it means", "## Confirm", "## Fix"):
        assert heading in text, f"{runbook.name} lacks a '{heading}' section"


def test_every_runbook_belongs_to_an_alert() -> None:
    orphans = sorted(p.stem for p in RUNBOOKS.glob("*.md") if p.name != "README.md" and p.stem not in ALERT_NAMES)
    assert not orphans, f"runbooks without an alert: {orphans}"
    index = (RUNBOOKS / "README.md").read_text()
    assert all(f"[{name}]({name}.md)" in index for name in ALERT_NAMES), "docs/runbooks/README.md misses an alert"


# --- thresholds.yaml is the truth -----------------------------------------------------


def test_thresholds_table_lists_exactly_the_alerts() -> None:
    assert sorted(thresholds()["alerts"]) == ALERT_NAMES


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda r: r.name)
def test_alert_agrees_with_thresholds(rule) -> None:
    entry = thresholds()["alerts"][rule.name]
    assert rule.file.name == entry["file"]
    assert rule.labels["severity"] == entry["severity"]
    condition = entry["condition"]
    assert normalise(condition) in normalise(rule.expr), f"{rule.name}: condition {condition!r} not in expr"
    windows = set(re.findall(r"\[([^\]]+)\]", rule.expr))
    expected_windows = {entry["window"]} if "window" in entry else set()
    assert windows == expected_windows, f"{rule.name}: windows {windows} but thresholds.yaml says {expected_windows}"
    expected_for = entry.get("for")
    assert rule.for_ == expected_for, f"{rule.name}: for {rule.for_!r} but thresholds.yaml says {expected_for!r}"


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda r: r.name)
def test_production_hold_time_is_a_minute_or_more(rule) -> None:
    if rule.name in ALWAYS_FIRING:
        assert rule.for_ is None
        return
    assert rule.for_ in {"1m", "2m", "5m", "10m", "15m"}, f"{rule.name}: for {rule.for_!r} is under a minute"


def test_every_scrape_job_is_covered_by_a_down_alert() -> None:
    jobs = {job["job_name"] for job in load_yaml(OBSERVABILITY / "prometheus.yml")["scrape_configs"]}
    dedicated = {
        job
        for rule in alert_rules()
        if rule.name != "TargetDown"
        for job in re.findall(r'up\{job="([^"]+)"\}\s*==\s*0', rule.expr)
    }
    target_down = next(rule for rule in alert_rules() if rule.name == "TargetDown")
    excluded = set(re.search(r'job!~"([^"]+)"', target_down.expr).group(1).split("|"))
    assert excluded == dedicated, "TargetDown must leave out exactly the jobs that have their own *Down alert"
    assert dedicated <= jobs, f"alerts watch jobs Prometheus does not scrape: {dedicated - jobs}"


# --- Alertmanager: routes, receiver, inhibitions -------------------------------------


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda r: r.name)
def test_alert_routes_to_the_receiver_of_its_severity(amtool: str, rule) -> None:
    severity = rule.labels["severity"]
    expected = "watchdog" if rule.name == "Watchdog" else {"none": "default"}.get(severity, severity)
    result = run_tool(
        [
            amtool,
            "config",
            "routes",
            "test",
            f"--config.file={OBSERVABILITY / 'alertmanager' / 'alertmanager.yml'}",
            f"alertname={rule.name}",
            f"severity={severity}",
        ]
    )
    assert result.stdout.strip() == expected


def test_every_route_ends_at_the_alert_receiver_with_resolved_notifications() -> None:
    config = load_yaml(OBSERVABILITY / "alertmanager" / "alertmanager.yml")
    route = config["route"]
    assert route["group_by"] == ["alertname", "service"]
    assert (route["group_wait"], route["group_interval"], route["repeat_interval"]) == ("30s", "5m", "4h")
    webhooks = [hook for receiver in config["receivers"] for hook in receiver.get("webhook_configs") or []]
    assert len(webhooks) == len(config["receivers"]), "every receiver is one webhook"
    default_url = f"http://127.0.0.1:{Settings.model_fields['receiver_port'].default}/alerts"
    assert all(hook["url"] == default_url and hook["send_resolved"] is True for hook in webhooks)


def test_inhibition_rules_name_existing_alerts() -> None:
    config = load_yaml(OBSERVABILITY / "alertmanager" / "alertmanager.yml")
    for rule in config["inhibit_rules"]:
        for matcher in rule.get("source_matchers", []) + rule.get("target_matchers", []):
            name, op, value = re.match(r'(\w+)(=~|!=|=)"(.*)"', matcher).groups()
            if name != "alertname" or op == "!=" or value == ".+Down":
                continue
            unknown = set(value.split("|")) - set(ALERT_NAMES)
            assert not unknown, f"inhibit rule names unknown alerts: {unknown}"


# --- the fast profile: same rules, seconds instead of minutes ---------------------------


def test_fast_profile_passes_promtool(promtool: str, amtool: str, tmp_path: Path) -> None:
    files = render_observability(Settings(port_offset=40000), tmp_path, profile="fast")
    result = run_tool([promtool, "check", "config", str(files.prometheus_config)])
    assert f"{len(RULE_FILES) + len(ALERT_FILES)} rule files found" in result.stdout
    run_tool([promtool, "check", "rules", *map(str, sorted(files.rules_dir.glob("*/*.yml")))])
    run_tool([amtool, "check-config", str(files.alertmanager_config)])


FAST_TEST = """
rule_files: [{alerts}/gateway.yml, {alerts}/agents.yml]
evaluation_interval: 1s
tests:
  - interval: 1s
    input_series:
      - series: 'up{{job="gateway", instance="i", service="gateway"}}'
        values: '1x9 0x9'
    alert_rule_test:
      - {{eval_time: 9s, alertname: GatewayDown, exp_alerts: []}}
      # for: 0s in the fast profile: firing at the first evaluation that sees up == 0.
      - eval_time: 10s
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
      # 5s fast_for (scrape phase between gateway and agent): pending at 44s, firing at 45s.
      - {{eval_time: 39s, alertname: AgentStalled, exp_alerts: []}}
      - {{eval_time: 44s, alertname: AgentStalled, exp_alerts: []}}
      - eval_time: 45s
        alertname: AgentStalled
        exp_alerts: [{{exp_labels: {{severity: warning, agent_type: risk, service: agent-risk}}}}]
"""


def test_fast_profile_alerts_fire_within_seconds(promtool: str, tmp_path: Path) -> None:
    files = render_observability(Settings(), tmp_path / "rendered", profile="fast")
    # This test is about timing: drop the annotations (promtool compares them too).
    alerts = tmp_path / "alerts"
    alerts.mkdir()
    for path in (files.rules_dir / "alerts").glob("*.yml"):
        document = load_yaml(path)
        for group in document["groups"]:
            for rule in group["rules"]:
                rule.pop("annotations", None)
        (alerts / path.name).write_text(yaml.safe_dump(document))
    test_file = tmp_path / "fast_test.yml"
    test_file.write_text(FAST_TEST.format(alerts=alerts))
    run_tool([promtool, "test", "rules", str(test_file)])
