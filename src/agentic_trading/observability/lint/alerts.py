"""Lint of the alert rules: each is tested both ways, actionable, and correctly labelled.

Every function takes the :class:`ObservabilityTree` and returns findings; none reads a
file or runs a tool.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

from agentic_trading.observability.lint.findings import Finding
from agentic_trading.observability.source import Location
from agentic_trading.observability.tree import ObservabilityTree

_NAME = re.compile(r"[a-zA-Z_:][\w:]*")


def alert_names_are_unique(tree: ObservabilityTree) -> Iterator[Finding]:
    counts = Counter(alert.name for alert in tree.alerts)
    seen: set[str] = set()
    for alert in tree.alerts:
        if counts[alert.name] > 1 and alert.name in seen:
            yield Finding(alert.location, "alert-duplicate-name", f"a second alert named {alert.name}: rename one")
        seen.add(alert.name)


def every_alert_is_tested_both_ways(tree: ObservabilityTree) -> Iterator[Finding]:
    cases: dict[str, list[bool]] = {}
    for test_file in tree.unit_tests:
        for case in test_file.alert_cases:
            cases.setdefault(case.alertname, []).append(case.fires)
    tests_dir = tree.paths.rules_dir.name + "/tests"
    for alert in tree.alerts:
        fires = cases.get(alert.name)
        if fires is None:
            yield Finding(
                alert.location,
                "alert-untested",
                f"{alert.name} has no alert_rule_test: add a case where it fires and one where it stays quiet "
                f"to {tests_dir}/{alert.file.name}",
            )
            continue
        if not any(fires):
            yield Finding(alert.location, "alert-never-fires-in-tests", f"no unit test shows {alert.name} firing: add one")
        if all(fires) and alert.name not in tree.config.always_firing:
            yield Finding(
                alert.location,
                "alert-no-quiet-test",
                f"no unit test shows {alert.name} staying quiet: add a case with exp_alerts: []",
            )


def unit_tests_name_existing_alerts(tree: ObservabilityTree) -> Iterator[Finding]:
    for test_file in tree.unit_tests:
        for case in test_file.alert_cases:
            if case.alertname not in tree.alert_names:
                yield Finding(case.location, "test-unknown-alert", f"a test of {case.alertname}, which no alert file defines")


def every_alert_file_has_its_test_file(tree: ObservabilityTree) -> Iterator[Finding]:
    tests = {test_file.path.name: test_file for test_file in tree.unit_tests}
    recording = {rule_file.path.name for rule_file in tree.recording_files}
    for alert_file in tree.alert_files:
        name = alert_file.path.name
        test_file = tests.get(name)
        if test_file is None:
            yield Finding(Location(alert_file.path, 1), "test-file-missing", f"no tests/{name} beside alerts/{name}: add it")
            continue
        wanted = [f"../alerts/{name}"] + ([f"../rules/{name}"] if name in recording else [])
        for rule_file in wanted:
            if rule_file not in test_file.rule_files:
                yield Finding(test_file.location, "test-file-missing", f"tests/{name} does not load {rule_file}: add it")


def alerts_on_recordings_are_tested_in_order(tree: ObservabilityTree) -> Iterator[Finding]:
    """promtool orders rule groups at random: an alert on a recording would fire one interval late."""
    records = {rule.name for rule in tree.recording_rules}
    tests = {test_file.path.name: test_file for test_file in tree.unit_tests}
    for alert_file in tree.alert_files:
        test_file = tests.get(alert_file.path.name)
        uses = any(records & {s.metric for s in alert.selectors} for alert in alert_file.alerts)
        if test_file is None or not uses:
            continue
        stem = alert_file.path.stem
        wanted = [f"{stem}.rules", f"{stem}.alerts"]
        if list(test_file.group_eval_order[:2]) != wanted:
            yield Finding(
                test_file.location,
                "test-eval-order",
                f"alerts of {alert_file.path.name} read recording rules: set group_eval_order: {wanted}",
            )


def every_recording_rule_is_tested(tree: ObservabilityTree) -> Iterator[Finding]:
    tested = {name for test_file in tree.unit_tests for case in test_file.expr_cases for name in _NAME.findall(case.expr)}
    for rule in tree.recording_rules:
        if rule.name not in tested:
            yield Finding(rule.location, "record-untested", f"recording rule {rule.name} has no promql_expr_test: add one")


def every_alert_is_actionable(tree: ObservabilityTree) -> Iterator[Finding]:
    config = tree.config
    for alert in tree.alerts:
        if alert.severity not in config.severities:
            yield Finding(
                alert.at("severity"),
                "alert-severity",
                f"{alert.name} has severity {alert.severity!r}: use one of {', '.join(config.severities)}",
            )
        summary = alert.annotations.get("summary", "")
        if not summary or "{{" in summary:
            yield Finding(
                alert.at("summary"), "alert-summary", f"{alert.name} needs a plain summary (templating goes in description)"
            )
        if "{{ $value" not in alert.annotations.get("description", ""):
            yield Finding(
                alert.at("description"), "alert-description", f"{alert.name}: the description must show {{{{ $value }}}}"
            )
        expected = f"{config.runbook_base_url}{alert.name}.md"
        if alert.runbook_url != expected:
            yield Finding(alert.at("runbook_url"), "alert-runbook-url", f"{alert.name}: set runbook_url: {expected}")


def every_alert_has_a_runbook(tree: ObservabilityTree) -> Iterator[Finding]:
    runbooks = tree.runbooks
    for alert in tree.alerts:
        page = runbooks.page(alert.name)
        if page is None:
            yield Finding(
                alert.location, "alert-no-runbook", f"{alert.name} has no runbook: write {runbooks.path_for(alert.name)}"
            )
            continue
        if page.title != f"# {alert.name}":
            yield Finding(Location(page.path, 1), "runbook-malformed", f"start {page.path.name} with '# {alert.name}'")
        for section in tree.config.runbook_sections:
            if not any(heading.startswith(section) for heading in page.headings):
                yield Finding(Location(page.path, 1), "runbook-malformed", f"{page.path.name} lacks a '{section}' section")
        if runbooks.index is not None and f"[{alert.name}]({alert.name}.md)" not in runbooks.index:
            index = runbooks.directory / "README.md"
            yield Finding(Location(index, 1), "runbook-index", f"list [{alert.name}]({alert.name}.md) in {index.name}")


def every_runbook_belongs_to_an_alert(tree: ObservabilityTree) -> Iterator[Finding]:
    for name, page in tree.runbooks.pages.items():
        if name not in tree.alert_names:
            yield Finding(Location(page.path, 1), "runbook-orphan", f"no alert named {name}: delete the page or rename it")


def hold_times_fit(tree: ObservabilityTree) -> Iterator[Finding]:
    config = tree.config
    for alert in tree.alerts:
        if alert.name in config.always_firing:
            if alert.for_ is not None:
                yield Finding(alert.at("for"), "alert-for", f"{alert.name} fires always: remove its `for`")
        elif alert.for_s < config.min_for_s:
            yield Finding(
                alert.at("for"),
                "alert-for",
                f"{alert.name} holds {alert.for_ or 'nothing'}: a blip would page; give it `for:` of at least "
                f"{config.min_for_s:g}s",
            )
    for name, line in config.fast_hold_lines.items():
        if name not in tree.alert_names:
            yield Finding(Location(config.path, line), "fast-hold-unknown-alert", f"fast hold time for {name}: no such alert")


LINTS = (
    alert_names_are_unique,
    every_alert_is_tested_both_ways,
    unit_tests_name_existing_alerts,
    every_alert_file_has_its_test_file,
    alerts_on_recordings_are_tested_in_order,
    every_recording_rule_is_tested,
    every_alert_is_actionable,
    every_alert_has_a_runbook,
    every_runbook_belongs_to_an_alert,
    hold_times_fit,
)
