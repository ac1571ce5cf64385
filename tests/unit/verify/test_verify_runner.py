"""The runner: every check runs, errors become failed results, an unreachable Prometheus stops it."""

from __future__ import annotations

import httpx
import pytest
from _verify_fakes import FakePrometheus, target

from agentic_trading.verify import CATEGORIES, Check, Outcome, StackUnreachableError, Status, VerifyContext, run_checks
from agentic_trading.verify.errors import VerifyInputError
from agentic_trading.verify.runner import PLANNERS, plan_category, run_check


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def category_started(self, category: str, total: int) -> None:
        self.events.append(("start", (category, total)))

    def check_finished(self, result) -> None:
        self.events.append(("done", result.name))


def test_an_unreachable_prometheus_stops_the_run_with_what_to_do(
    verify_ctx: VerifyContext, fake_prometheus: FakePrometheus
) -> None:
    fake_prometheus.reachable = False
    with pytest.raises(StackUnreachableError) as raised:
        run_checks(verify_ctx, ["health"])
    assert str(raised.value) == (
        "Prometheus at http://prometheus.test:9090 is not answering (connection refused): is the stack up? (atctl status)"
    )
    assert raised.value.exit_code == 2


def test_a_crashing_check_is_a_failed_result_not_a_crashed_run() -> None:
    def crash() -> Outcome:
        raise KeyError("activeTargets")

    result = run_check(Check("health", "boom", "explodes", crash))
    assert result.status is Status.failed
    assert result.message == "the check crashed: KeyError: 'activeTargets'"
    assert result.details and result.duration_s >= 0


def test_transport_errors_name_the_url() -> None:
    def refused() -> Outcome:
        raise httpx.ConnectError("connection refused", request=httpx.Request("GET", "http://gw.test/metrics"))

    assert run_check(Check("accuracy", "x", "", refused)).message == "no answer from http://gw.test/metrics: connection refused"


def test_a_category_that_cannot_be_planned_reports_why(verify_ctx: VerifyContext, monkeypatch) -> None:
    def broken_plan(ctx: VerifyContext) -> list[Check]:
        raise VerifyInputError("no dashboards directory /nope: pass --dashboards-dir")

    monkeypatch.setitem(PLANNERS, "dashboards", broken_plan)
    (check,) = plan_category(verify_ctx, "dashboards")
    result = run_check(check)
    assert (result.name, result.status, result.message) == (
        "plan",
        Status.failed,
        "no dashboards directory /nope: pass --dashboards-dir",
    )


def test_categories_run_in_order_and_report_progress(verify_ctx: VerifyContext, fake_prometheus: FakePrometheus) -> None:
    fake_prometheus.targets.append(target("nats", "nats.test:7777", health="down", service="nats-exporter"))
    recorder = Recorder()
    report = run_checks(verify_ctx, ["health", "collection"], recorder)
    assert report.categories() == ["collection", "health"]
    starts = [payload for kind, payload in recorder.events if kind == "start"]
    assert [category for category, _ in starts] == ["collection", "health"]
    assert sum(total for _, total in starts) == len(report.results)
    failed = {(r.category, r.name) for r in report.failures()}
    assert ("collection", "targets up") in failed and ("health", "targets up") in failed
    assert not report.ok and report.duration_s > 0


def test_unknown_categories_are_refused(verify_ctx: VerifyContext) -> None:
    with pytest.raises(VerifyInputError, match="unknown categories speed"):
        run_checks(verify_ctx, ["speed"])
    assert tuple(PLANNERS) == CATEGORIES


def test_unreadable_inputs_stop_the_run_before_any_check(verify_ctx: VerifyContext, tmp_path) -> None:
    from agentic_trading.observability import ObservabilityError
    from agentic_trading.verify.context import Sources

    missing = VerifyContext(verify_ctx.endpoints, Sources.defaults(catalog=tmp_path / "nope.yaml"), verify_ctx.http)
    with pytest.raises(ObservabilityError, match="cannot read the metric catalog .*nope.yaml"):
        run_checks(missing, ["collection"])
    no_rules = VerifyContext(verify_ctx.endpoints, Sources.defaults(rules_dir=tmp_path), verify_ctx.http)
    with pytest.raises(ObservabilityError, match="has no alerts/ directory: pass --rules-dir"):
        run_checks(no_rules, ["alerts"])
    no_dashboards = VerifyContext(verify_ctx.endpoints, Sources.defaults(dashboards_dir=tmp_path / "d"), verify_ctx.http)
    with pytest.raises(ObservabilityError, match="no dashboards directory"):
        run_checks(no_dashboards, ["dashboards"])
    assert run_checks(no_dashboards, ["health"]).results, "health needs none of them"
