"""Alert checks: promtool on the real rules, the lint on a doctored copy, live state from a fake Prometheus."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from _verify_fakes import FakePrometheus, vector

from agentic_trading.observability import ObservabilityError
from agentic_trading.verify import Status, VerifyContext
from agentic_trading.verify.alerts import (
    alerts_loaded,
    expression_evaluates,
    firing_now,
    only_watchdog_firing,
    plan,
    rules_valid,
    unit_tests_pass,
)
from agentic_trading.verify.context import Sources
from agentic_trading.verify.lint import lint_passes
from agentic_trading.verify.runner import run_check

UNTESTED = {
    "alert": "GatewayQueueStuck",
    "expr": 'up{job="gateway"} > 5',
    "labels": {"severity": "warning"},
    "annotations": {"summary": "A made-up alert without a unit test."},
}


pytestmark = pytest.mark.usefixtures("promtool")  # tests/conftest.py: fails when it is not installed


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "prometheus"
    shutil.copytree(Sources.defaults().rules_dir, copy)
    return copy


def _with_rules(ctx: VerifyContext, rules_dir: Path, runbooks_dir: Path | None = None) -> VerifyContext:
    sources = Sources.defaults(rules_dir=rules_dir, runbooks_dir=runbooks_dir)
    return VerifyContext(ctx.endpoints, sources, ctx.http)


def _add_alert(rules_dir: Path, rule: dict) -> None:
    path = rules_dir / "alerts" / "gateway.yml"
    document = yaml.safe_load(path.read_text())
    document["groups"][0]["rules"].append(rule)
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def test_the_projects_rules_pass_promtool_and_the_lint(verify_ctx: VerifyContext) -> None:
    for outcome in (rules_valid(verify_ctx), unit_tests_pass(verify_ctx), lint_passes(verify_ctx, "alerts")):
        assert outcome.status is Status.passed, outcome.message
    assert "promtool test rules" in unit_tests_pass(verify_ctx).query
    assert lint_passes(verify_ctx, "alerts").query == "atctl lint --area alerts"


def test_an_alert_without_a_unit_test_or_runbook_is_named_by_the_lint(verify_ctx: VerifyContext, rules_copy: Path) -> None:
    _add_alert(rules_copy, UNTESTED)
    ctx = _with_rules(verify_ctx, rules_copy)
    outcome = lint_passes(ctx, "alerts")
    assert outcome.status is Status.failed
    codes = [line.split(": ")[1] for line in outcome.details]
    assert {"alert-untested", "alert-no-runbook", "alert-runbook-url"} <= set(codes)
    assert all(line.startswith(f"{rules_copy / 'alerts' / 'gateway.yml'}:") for line in outcome.details if "alert-" in line)
    assert rules_valid(ctx).status is Status.passed, "the rule itself is valid: only the test is missing"


def test_an_invalid_rule_is_refused_with_its_file_and_line(verify_ctx: VerifyContext, rules_copy: Path) -> None:
    _add_alert(rules_copy, {**UNTESTED, "expr": "sum(rate(up[5m])"})
    path = rules_copy / "alerts" / "gateway.yml"
    line = path.read_text().splitlines().index("  - alert: GatewayQueueStuck") + 2  # the expr: line after it
    with pytest.raises(ObservabilityError, match=rf"gateway\.yml:{line}: the expr of GatewayQueueStuck is not valid PromQL"):
        rules_valid(_with_rules(verify_ctx, rules_copy))


def test_a_failing_unit_test_fails_promtool_test_rules(verify_ctx: VerifyContext, rules_copy: Path) -> None:
    path = rules_copy / "alerts" / "gateway.yml"
    path.write_text(path.read_text().replace('up{job="gateway"} == 0', 'up{job="gateway"} == 2'))
    outcome = unit_tests_pass(_with_rules(verify_ctx, rules_copy))
    assert outcome.status is Status.failed and "GatewayDown" in " ".join(outcome.details)


def test_alerts_missing_on_prometheus_or_failing_there_are_named(
    verify_ctx: VerifyContext, fake_prometheus: FakePrometheus
) -> None:
    names = [alert.name for alert in verify_ctx.tree.alerts]
    rules = [{"name": name, "type": "alerting", "health": "ok"} for name in names if name != "HighCPU"]
    rules.append({"name": "gateway:broken", "type": "recording", "health": "err", "lastError": "many-to-many matching"})
    fake_prometheus.rules = [{"name": "all", "rules": rules}]
    outcome = alerts_loaded(verify_ctx)
    assert outcome.status is Status.failed
    assert outcome.details == ("HighCPU is not loaded", "gateway:broken (all): many-to-many matching")


def test_expressions_are_evaluated_and_refusals_reported(verify_ctx: VerifyContext, fake_prometheus: FakePrometheus) -> None:
    alert = verify_ctx.tree.alert("GatewayDown")
    assert expression_evaluates(verify_ctx, alert).message == "evaluates (false now)"
    fake_prometheus.errors[alert.expr] = "unknown function"
    checks = {check.name: check for check in plan(verify_ctx)}
    result = run_check(checks["expression GatewayDown"])
    assert result.status is Status.failed and result.message == "Prometheus refused the query: bad_data: unknown function"


def test_only_the_watchdog_may_fire(verify_ctx: VerifyContext, fake_prometheus: FakePrometheus) -> None:
    fake_prometheus.alerts = [
        {"labels": {"alertname": "Watchdog", "severity": "none"}, "state": "firing"},
        {"labels": {"alertname": "GatewayDown", "job": "gateway"}, "state": "pending"},
    ]
    assert only_watchdog_firing(verify_ctx).status is Status.passed
    fake_prometheus.alerts.append({"labels": {"alertname": "TargetDown", "job": "nats"}, "state": "firing"})
    # The ALERTS series of a previous Prometheus process may say anything: it is not read.
    fake_prometheus.results['ALERTS{alertstate="firing"}'] = vector(
        ({"__name__": "ALERTS", "alertname": "GatewayHighErrorRate", "alertstate": "firing"}, 1)
    )
    outcome = only_watchdog_firing(verify_ctx)
    assert outcome.status is Status.failed and outcome.message == "1 alert firing: TargetDown"
    assert outcome.details == ('TargetDown{job="nats"}',)
    assert firing_now(fake_prometheus.alerts, ["Watchdog"]) == [fake_prometheus.alerts[-1]]
