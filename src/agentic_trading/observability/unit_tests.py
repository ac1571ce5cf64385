"""promtool unit-test files (``prometheus/tests/*.yml``) as typed data: which cases test what.

Only what the lint needs to know about a test file: the rule files it loads, its
``group_eval_order``, and each ``alert_rule_test`` (does the case expect the alert to
fire, or to stay quiet?) and ``promql_expr_test`` case, with its line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agentic_trading.observability.errors import ObservabilityError
from agentic_trading.observability.source import Location, line_of, read_yaml


@dataclass(frozen=True)
class AlertCase:
    """One ``alert_rule_test`` entry: ``fires`` when it expects at least one alert."""

    alertname: str
    eval_time: str
    fires: bool
    location: Location


@dataclass(frozen=True)
class ExprCase:
    expr: str
    eval_time: str
    location: Location


@dataclass(frozen=True)
class UnitTestFile:
    path: Path
    rule_files: tuple[str, ...]
    group_eval_order: tuple[str, ...]
    alert_cases: tuple[AlertCase, ...]
    expr_cases: tuple[ExprCase, ...]
    location: Location


def load_unit_test_file(path: Path) -> UnitTestFile:
    document = read_yaml(path, what="promtool test file")
    tests = document.get("tests")
    if not isinstance(tests, list):
        raise ObservabilityError(f"{Location(path, document.line)}: a promtool test file needs a top-level `tests:` list")
    alert_cases: list[AlertCase] = []
    expr_cases: list[ExprCase] = []
    for group in tests:
        for case in group.get("alert_rule_test") or []:
            where = Location(path, line_of(case, line_of(group)))
            if not case.get("alertname"):
                raise ObservabilityError(f"{where}: an alert_rule_test needs `alertname:`")
            fires = bool(case.get("exp_alerts"))
            alert_cases.append(AlertCase(str(case["alertname"]), str(case.get("eval_time", "")), fires, where))
        for case in group.get("promql_expr_test") or []:
            where = Location(path, line_of(case, line_of(group)))
            expr_cases.append(ExprCase(str(case.get("expr", "")), str(case.get("eval_time", "")), where))
    return UnitTestFile(
        path=path,
        rule_files=tuple(str(name) for name in document.get("rule_files") or []),
        group_eval_order=tuple(str(name) for name in document.get("group_eval_order") or []),
        alert_cases=tuple(alert_cases),
        expr_cases=tuple(expr_cases),
        location=Location(path, 1),
    )
