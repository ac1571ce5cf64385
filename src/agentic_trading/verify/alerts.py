"""Alerts: valid rules, passing unit tests, expressions that evaluate live, quiet on a healthy stack.

The specification's ``test_alert_rules.sh`` (``promtool check rules``, each alert's
expression through Prometheus) plus what makes an alert worth having: a promtool unit
test and a runbook (``docs/runbooks/<AlertName>.md``) for every alert, and no alert
but the Watchdog firing while everything is healthy.
"""

from __future__ import annotations

import shlex
from functools import partial

from agentic_trading.verify.context import VerifyContext
from agentic_trading.verify.model import Check, Outcome, counted, summarise
from agentic_trading.verify.promtool import run_promtool
from agentic_trading.verify.rule_files import AlertRule

CATEGORY = "alerts"
# Built to fire always: it proves the alert path, it is not a problem.
ALWAYS_FIRING = frozenset({"Watchdog"})
FIRING_QUERY = 'ALERTS{alertstate="firing", alertname!~"' + "|".join(sorted(ALWAYS_FIRING)) + '"}'


def plan(ctx: VerifyContext) -> list[Check]:
    rules = ctx.rule_files
    root = rules.root
    checks = [
        Check(
            CATEGORY, "promtool check rules", f"{root}/rules and alerts pass `promtool check rules`", partial(rules_valid, ctx)
        ),
        Check(CATEGORY, "promtool test rules", f"{root}/tests pass `promtool test rules`", partial(unit_tests_pass, ctx)),
        Check(CATEGORY, "unit tests", "every alert has an alert_rule_test in tests/*.yml", partial(every_alert_tested, ctx)),
        Check(
            CATEGORY,
            "runbooks",
            f"every alert has {ctx.sources.runbooks_dir}/<AlertName>.md",
            partial(every_alert_has_runbook, ctx),
        ),
        Check(
            CATEGORY,
            "loaded on Prometheus",
            "Prometheus runs every alert of the rules directory, and none of its rules fails to evaluate",
            partial(alerts_loaded, ctx),
        ),
    ]
    for alert in rules.alerts():
        checks.append(
            Check(
                CATEGORY,
                f"expression {alert.name}",
                f"the expression of {alert.name} ({alert.file.name}) evaluates on the live Prometheus",
                partial(expression_evaluates, ctx, alert),
            )
        )
    checks.append(
        Check(
            CATEGORY,
            "only the watchdog fires",
            f"no alert but {', '.join(sorted(ALWAYS_FIRING))} is firing",
            partial(only_watchdog_firing, ctx),
        )
    )
    return checks


def _relative(paths: list, root) -> list[str]:
    return [str(path.relative_to(root)) for path in paths]


def rules_valid(ctx: VerifyContext) -> Outcome:
    rules = ctx.rule_files
    files = rules.recording_files + rules.alert_files
    run = run_promtool(["check", "rules", *_relative(files, rules.root)], cwd=rules.root)
    reproduce = f"cd {shlex.quote(str(rules.root))} && {run.command_line}"
    if run.returncode != 0:
        problems = [line.strip() for line in run.output.splitlines() if line.strip() and "SUCCESS" not in line]
        return Outcome.failed(f"promtool refuses the rules: {summarise(problems, 2)}", reproduce, problems)
    return Outcome.passed(f"{len(files)} rule files valid", reproduce)


def unit_tests_pass(ctx: VerifyContext) -> Outcome:
    rules = ctx.rule_files
    files = rules.test_files
    if not files:
        return Outcome.failed(f"no unit tests in {rules.root}/tests (promtool test rules files)")
    run = run_promtool(["test", "rules", *_relative(files, rules.root)], cwd=rules.root)
    reproduce = f"cd {shlex.quote(str(rules.root))} && {run.command_line}"
    if run.returncode != 0:
        failing = [line.strip() for line in run.output.splitlines() if line.strip()]
        return Outcome.failed(f"promtool unit tests fail: {summarise(failing[:6], 3)}", reproduce, failing)
    return Outcome.passed(f"{len(files)} test files pass", reproduce)


def every_alert_tested(ctx: VerifyContext) -> Outcome:
    rules = ctx.rule_files
    tested = rules.tested_alerts()
    alerts = rules.alerts()
    untested = [f"{alert.name} ({alert.file.name})" for alert in alerts if alert.name not in tested]
    if untested:
        return Outcome.failed(
            f"{counted(len(untested), 'alert')} without a unit test: {summarise(untested)}; add an alert_rule_test "
            f"to {rules.root.name}/tests/<file>.yml",
            details=untested,
        )
    return Outcome.passed(f"all {len(alerts)} alerts have an alert_rule_test")


def every_alert_has_runbook(ctx: VerifyContext) -> Outcome:
    runbooks = ctx.sources.runbooks_dir
    alerts = ctx.rule_files.alerts()
    missing = [alert.name for alert in alerts if not (runbooks / f"{alert.name}.md").is_file()]
    if missing:
        lines = [f"{runbooks / name}.md" for name in missing]
        return Outcome.failed(f"{counted(len(missing), 'alert')} without a runbook: {summarise(missing)}", details=lines)
    return Outcome.passed(f"all {len(alerts)} alerts have a runbook in {runbooks}")


def alerts_loaded(ctx: VerifyContext) -> Outcome:
    groups = ctx.prometheus.rules()
    loaded = {rule["name"] for group in groups for rule in group["rules"] if rule.get("type") == "alerting"}
    failing = [
        f"{rule['name']} ({group['name']}): {rule.get('lastError') or 'health ' + str(rule.get('health'))}"
        for group in groups
        for rule in group["rules"]
        if rule.get("health") == "err"
    ]
    missing = sorted({alert.name for alert in ctx.rule_files.alerts()} - loaded)
    reproduce = f"curl -s {ctx.endpoints.prometheus}/api/v1/rules"
    problems = [f"{name} is not loaded" for name in missing] + failing
    if problems:
        return Outcome.failed(
            f"{counted(len(missing), 'alert')} of the rules directory not loaded, "
            f"{counted(len(failing), 'rule')} failing: {summarise(problems, 3)}",
            reproduce,
            problems,
        )
    return Outcome.passed(f"{len(loaded)} alerts loaded in {len(groups)} groups, every rule evaluates", reproduce)


def expression_evaluates(ctx: VerifyContext, alert: AlertRule) -> Outcome:
    samples = ctx.prometheus.query(alert.expr)
    true_now = f"true now for {len(samples)} series" if samples else "false now"
    return Outcome.passed(f"evaluates ({true_now})", alert.expr.strip())


def only_watchdog_firing(ctx: VerifyContext) -> Outcome:
    firing = ctx.prometheus.query(FIRING_QUERY)
    if firing:
        lines = [sample.describe().replace("ALERTS", sample.labels.get("alertname", "ALERTS"), 1) for sample in firing]
        names = sorted({sample.labels.get("alertname", "?") for sample in firing})
        return Outcome.failed(f"{counted(len(firing), 'alert')} firing: {summarise(names)}", FIRING_QUERY, lines)
    return Outcome.passed("nothing but the watchdog fires", FIRING_QUERY)
