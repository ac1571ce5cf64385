"""Alerts: valid rules, passing unit tests, the lint, expressions that evaluate live, quiet when healthy.

The specification's ``test_alert_rules.sh`` (``promtool check rules``, each alert's
expression through Prometheus) plus what makes an alert worth having, checked by the
observability lint (a firing and a quiet promtool case, a runbook, a severity, its
``runbook_url``; ``atctl lint --area alerts``), and no alert but the always-firing
ones (the Watchdog) firing while everything is healthy.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from functools import partial
from pathlib import Path

from agentic_trading.alerts.view import firing_now
from agentic_trading.observability.rules import AlertRule
from agentic_trading.verify.context import VerifyContext
from agentic_trading.verify.lint import lint_check
from agentic_trading.verify.model import Check, Outcome, counted, summarise
from agentic_trading.verify.promtool import run_promtool

CATEGORY = "alerts"


def plan(ctx: VerifyContext) -> list[Check]:
    tree = ctx.tree
    root = tree.paths.rules_dir
    always = ", ".join(sorted(tree.config.always_firing)) or "none"
    checks = [
        Check(
            CATEGORY, "promtool check rules", f"{root}/rules and alerts pass `promtool check rules`", partial(rules_valid, ctx)
        ),
        Check(CATEGORY, "promtool test rules", f"{root}/tests pass `promtool test rules`", partial(unit_tests_pass, ctx)),
        lint_check(ctx, CATEGORY, "alerts"),
        Check(
            CATEGORY,
            "loaded on Prometheus",
            "Prometheus runs every alert of the rules directory, and none of its rules fails to evaluate",
            partial(alerts_loaded, ctx),
        ),
    ]
    for alert in tree.alerts:
        checks.append(
            Check(
                CATEGORY,
                f"expression {alert.name}",
                f"the expression of {alert.name} ({alert.file.name}) evaluates on the live Prometheus",
                partial(expression_evaluates, ctx, alert),
            )
        )
    checks.append(
        Check(CATEGORY, "only the watchdog fires", f"no alert but {always} is firing", partial(only_watchdog_firing, ctx))
    )
    return checks


def _relative(paths: Iterable[Path], root: Path) -> list[str]:
    return [str(path.relative_to(root)) for path in paths]


def rules_valid(ctx: VerifyContext) -> Outcome:
    tree = ctx.tree
    root = tree.paths.rules_dir
    files = [rule_file.path for rule_file in tree.recording_files + tree.alert_files]
    run = run_promtool(["check", "rules", *_relative(files, root)], cwd=root)
    reproduce = f"cd {shlex.quote(str(root))} && {run.command_line}"
    if run.returncode != 0:
        problems = [line.strip() for line in run.output.splitlines() if line.strip() and "SUCCESS" not in line]
        return Outcome.failed_listing("promtool refuses the rules", problems, reproduce, shown=2)
    return Outcome.passed(f"{len(files)} rule files valid", reproduce)


def unit_tests_pass(ctx: VerifyContext) -> Outcome:
    tree = ctx.tree
    root = tree.paths.rules_dir
    files = [test_file.path for test_file in tree.unit_tests]
    if not files:
        return Outcome.failed(f"no unit tests in {root}/tests (promtool test rules files)")
    run = run_promtool(["test", "rules", *_relative(files, root)], cwd=root)
    reproduce = f"cd {shlex.quote(str(root))} && {run.command_line}"
    if run.returncode != 0:
        failing = [line.strip() for line in run.output.splitlines() if line.strip()]
        return Outcome.failed(f"promtool unit tests fail: {summarise(failing[:6], 3)}", reproduce, failing)
    return Outcome.passed(f"{len(files)} test files pass", reproduce)


def alerts_loaded(ctx: VerifyContext) -> Outcome:
    groups = ctx.prometheus.rules()
    loaded = {rule["name"] for group in groups for rule in group["rules"] if rule.get("type") == "alerting"}
    failing = [
        f"{rule['name']} ({group['name']}): {rule.get('lastError') or 'health ' + str(rule.get('health'))}"
        for group in groups
        for rule in group["rules"]
        if rule.get("health") == "err"
    ]
    missing = sorted(ctx.tree.alert_names - loaded)
    reproduce = f"curl -s {ctx.endpoints.prometheus}/api/v1/rules"
    problems = [f"{name} is not loaded" for name in missing] + failing
    if problems:
        return Outcome.failed_listing(
            f"{counted(len(missing), 'alert')} of the rules directory not loaded, {counted(len(failing), 'rule')} failing",
            problems,
            reproduce,
        )
    return Outcome.passed(f"{len(loaded)} alerts loaded in {len(groups)} groups, every rule evaluates", reproduce)


def expression_evaluates(ctx: VerifyContext, alert: AlertRule) -> Outcome:
    samples = ctx.prometheus.query(alert.expr)
    true_now = f"true now for {len(samples)} series" if samples else "false now"
    return Outcome.passed(f"evaluates ({true_now})", alert.expr.strip())


def only_watchdog_firing(ctx: VerifyContext) -> Outcome:
    reproduce = f"curl -s {ctx.endpoints.prometheus}/api/v1/alerts"
    firing = firing_now(ctx.prometheus.alerts(), ctx.tree.config.always_firing)
    if firing:
        lines = [_describe_alert(alert["labels"]) for alert in firing]
        names = sorted({alert["labels"].get("alertname", "?") for alert in firing})
        return Outcome.failed(f"{counted(len(firing), 'alert')} firing: {summarise(names)}", reproduce, lines)
    return Outcome.passed("nothing but the watchdog fires", reproduce)


def _describe_alert(labels: dict[str, str]) -> str:
    inner = ", ".join(f'{key}="{value}"' for key, value in sorted(labels.items()) if key != "alertname")
    return f"{labels.get('alertname', '?')}{{{inner}}}"
