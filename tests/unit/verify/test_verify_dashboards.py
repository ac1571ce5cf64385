"""The live dashboard checks (variables, panel queries, the plan), with a fake Prometheus."""

from __future__ import annotations

import copy
import json
from functools import partial
from pathlib import Path

import pytest
from _verify_fakes import FakePrometheus, vector

from agentic_trading.observability import ObservabilityError
from agentic_trading.observability.dashboards import Dashboard, dashboard_paths, datasource_uids, load_dashboard
from agentic_trading.observability.templating import offline_expansion
from agentic_trading.verify import Status, VerifyContext
from agentic_trading.verify.context import Sources
from agentic_trading.verify.dashboards import VariableResolver, plan, query_returns_data, variable_resolves
from agentic_trading.verify.model import Check
from agentic_trading.verify.runner import run_check

DASHBOARDS = [load_dashboard(path) for path in dashboard_paths(Sources.defaults().dashboards_dir)]
AGENTS = next(d for d in DASHBOARDS if d.uid == "agents-001")
DATASOURCE = {"type": "prometheus", "uid": "prometheus"}


def _dashboard(panels: list[dict], uid: str = "t-001", templating: list | None = None) -> Dashboard:
    document = {"uid": uid, "title": "T", "panels": panels, "templating": {"list": templating or []}}
    return Dashboard(Path(f"{uid}.json"), document)


def _panel(title: str, expr: str | None = "up", datasource: dict | None = DATASOURCE, kind: str = "timeseries") -> dict:
    panel = {"type": kind, "title": title, "datasource": datasource, "targets": []}
    if expr is not None:
        panel["targets"] = [{"refId": "A", "expr": expr}]
    return panel


def test_the_dashboards_name_one_datasource() -> None:
    assert datasource_uids(DASHBOARDS) == ["prometheus"]


def test_invalid_json_is_refused_with_the_file_name(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ObservabilityError, match="broken.json:1: not valid JSON"):
        load_dashboard(broken)


# --- variables and queries --------------------------------------------------------------------


def test_agent_type_resolves_through_label_values(verify_ctx: VerifyContext, fake_prometheus: FakePrometheus) -> None:
    fake_prometheus.label_values["agent_type"] = ["correlation", "momentum", "risk", "sentiment"]
    resolver = VariableResolver(verify_ctx, AGENTS)
    variable = AGENTS.variables()[0]
    outcome = variable_resolves(resolver, variable)
    assert outcome.status is Status.passed
    assert outcome.message == "$agent_type = correlation, momentum, risk, sentiment"
    assert resolver.substitutions()["agent_type"] == "(correlation|momentum|risk|sentiment)"


def test_a_variable_without_values_fails(verify_ctx: VerifyContext) -> None:
    resolver = VariableResolver(verify_ctx, AGENTS)
    outcome = variable_resolves(resolver, AGENTS.variables()[0])
    assert outcome.status is Status.failed and "resolves to no values" in outcome.message


def test_queries_reach_prometheus_with_every_value_expanded(verify_ctx: VerifyContext, fake_prometheus: FakePrometheus) -> None:
    fake_prometheus.label_values["agent_type"] = ["momentum", "risk"]
    query = next(q for q in AGENTS.queries() if q.panel == "Confidence of the latest opinion")
    expanded = 'agent_confidence_score{agent_type=~"(momentum|risk)"}'
    fake_prometheus.results[expanded] = vector(({"agent_type": "risk"}, 0.8))
    outcome = query_returns_data(verify_ctx, VariableResolver(verify_ctx, AGENTS), query)
    assert (outcome.status, outcome.message, outcome.query) == (Status.passed, "1 series", expanded)


def test_a_query_on_a_metric_that_does_not_exist_fails_naming_it(verify_ctx: VerifyContext) -> None:
    dashboard = _dashboard([_panel("Ghost", "sum(rate(gateway_ghost_total[1m]))")])
    outcome = query_returns_data(verify_ctx, VariableResolver(verify_ctx, dashboard), dashboard.queries()[0])
    assert outcome.status is Status.failed
    assert outcome.message == "no data: gateway_ghost_total has no series and is not in the catalog"


def test_a_query_on_a_conditional_metric_without_data_is_skipped(verify_ctx: VerifyContext) -> None:
    dashboard = _dashboard([_panel("Missing", "sum(rate(orchestrator_missing_opinions_total[1m]))")])
    outcome = query_returns_data(verify_ctx, VariableResolver(verify_ctx, dashboard), dashboard.queries()[0])
    assert outcome.status is Status.skipped and "only after the first decision" in outcome.message


def test_invalid_promql_and_undefined_variables_fail(verify_ctx: VerifyContext) -> None:
    dashboard = _dashboard([_panel("Broken", "sum(rate(up[1m])"), _panel("Undefined", 'up{job=~"$nope"}')])
    broken, undefined = dashboard.queries()
    resolver = VariableResolver(verify_ctx, dashboard)
    assert query_returns_data(verify_ctx, resolver, broken).message.startswith("not valid PromQL: ")
    assert query_returns_data(verify_ctx, resolver, undefined).message == "uses $nope, which the dashboard does not define"


def test_prometheus_refusing_a_query_is_a_failure_with_its_error(
    verify_ctx: VerifyContext, fake_prometheus: FakePrometheus
) -> None:
    dashboard = _dashboard([_panel("Refused", "up")])
    fake_prometheus.errors["up"] = "query timed out"
    query = dashboard.queries()[0]
    check = Check(
        "dashboards", "query", "", partial(query_returns_data, verify_ctx, VariableResolver(verify_ctx, dashboard), query)
    )
    result = run_check(check)
    assert result.status is Status.failed
    assert (result.message, result.query) == ("Prometheus refused the query: bad_data: query timed out", "up")


def test_offline_expansion_parses_variables_and_intervals() -> None:
    assert offline_expansion('rate(x{a=~"$v"}[$__rate_interval])') == 'rate(x{a=~".*"}[1m])'


def test_plan_covers_every_dashboard_and_skips_grafana_without_a_url(verify_ctx: VerifyContext, tmp_path: Path) -> None:
    names = [check.name for check in plan(verify_ctx)]
    assert names[0] == "lint dashboards"
    assert sum(name.startswith("query ") for name in names) == sum(len(d.queries()) for d in DASHBOARDS)
    assert "variable agents-001 $agent_type" in names
    assert names[-1] == "grafana import"


def test_a_dashboard_file_that_is_not_json_stops_the_run_naming_file_and_line(verify_ctx: VerifyContext, tmp_path: Path) -> None:
    directory = tmp_path / "dashboards"
    directory.mkdir()
    (directory / "good.json").write_text(json.dumps(copy.deepcopy(AGENTS.document)))
    (directory / "bad.json").write_text('{\n  "uid": "x",\n  oops\n}')
    ctx = VerifyContext(verify_ctx.endpoints, Sources.defaults(dashboards_dir=directory), verify_ctx.http)
    with pytest.raises(ObservabilityError, match=r"bad\.json:3: not valid JSON"):
        plan(ctx)


def test_a_panel_that_declares_it_may_be_empty_at_all_is_skipped_by_the_viewers_rule(
    verify_ctx: VerifyContext, fake_prometheus: FakePrometheus
) -> None:
    """verify checks every variable at "All" and reads ``mayBeEmpty`` as the viewer and browser tests do."""
    fake_prometheus.label_values["agent_type"] = ["momentum", "risk"]
    variable = {"name": "agent_type", "type": "query", "query": "label_values(up, agent_type)", "multi": True, "includeAll": True}
    always = {**_panel("Always may be empty", "up"), "mayBeEmpty": {"reason": "until the first veto"}}
    risk_only = {**_panel("Empty only without risk", "up"), "mayBeEmpty": {"reason": "r", "when": {"agent_type": ["momentum"]}}}
    plain = _panel("Must show data", "up")
    dashboard = _dashboard([always, risk_only, plain], templating=[variable])
    resolver = VariableResolver(verify_ctx, dashboard)
    outcomes = [query_returns_data(verify_ctx, resolver, query) for query in dashboard.queries()]

    assert outcomes[0].status is Status.skipped and "until the first veto" in outcomes[0].message
    # "All" selects risk too, which the declaration does not cover: the panel must show data.
    assert [o.status for o in outcomes[1:]] == [Status.failed, Status.failed]
