"""Dashboards: does every panel of every dashboard show data, and only catalogued metrics?

The specification's ``test_dashboard_queries.py`` with what it leaves out: template
variables are resolved against Prometheus and expanded as Grafana's "All" does
(``(v1|v2|…)``), so ``$agent_type`` panels are really checked; a query that returns
nothing fails. What needs no server (unique uids, complete panels, parseable queries,
catalogued metrics and labels) is the observability lint (``atctl lint --area
dashboards``). With a Grafana URL the dashboards are also imported through its API.
"""

from __future__ import annotations

from functools import partial

from agentic_trading.observability.dashboard_states import ALL, may_be_empty, panels_of
from agentic_trading.observability.dashboards import Dashboard, PanelQuery, Variable
from agentic_trading.observability.promql import PromQLSyntaxError, metric_names
from agentic_trading.observability.templating import (
    MATCH_ALL,
    builtin_variables,
    expand_variables,
    format_values,
    label_values_query,
    variable_references,
)
from agentic_trading.verify.context import VerifyContext
from agentic_trading.verify.grafana import GrafanaError
from agentic_trading.verify.lint import lint_check
from agentic_trading.verify.model import Check, Outcome, summarise

CATEGORY = "dashboards"


def plan(ctx: VerifyContext) -> list[Check]:
    checks: list[Check] = [lint_check(ctx, CATEGORY, "dashboards")]
    dashboards = ctx.tree.dashboards
    for dashboard in dashboards:
        resolver = VariableResolver(ctx, dashboard)
        for variable in dashboard.variables():
            checks.append(
                Check(
                    CATEGORY,
                    f"variable {dashboard.uid} ${variable.name}",
                    f"template variable ${variable.name} ({variable.query or variable.type}) resolves to values",
                    partial(variable_resolves, resolver, variable),
                )
            )
        for query in dashboard.queries():
            checks.append(
                Check(
                    CATEGORY,
                    f"query {query.label}",
                    f"panel {query.panel!r} of {dashboard.uid}: the query is valid PromQL and returns data",
                    partial(query_returns_data, ctx, resolver, query),
                )
            )
    if ctx.grafana is None:
        checks.append(
            Check(
                CATEGORY,
                "grafana import",
                "the dashboards import into Grafana through its API",
                partial(Outcome.skipped, "no --grafana-url given: dashboards not imported"),
            )
        )
    else:
        for dashboard in dashboards:
            checks.append(
                Check(
                    CATEGORY,
                    f"grafana import {dashboard.uid}",
                    f"{dashboard.path.name} imports into Grafana at {ctx.endpoints.grafana} and reads back whole",
                    partial(imports_into_grafana, ctx, dashboard),
                )
            )
    return checks


# --- variables --------------------------------------------------------------------------------


class VariableResolver:
    """Values of a dashboard's variables, resolved once, in order (later ones may use earlier ones)."""

    def __init__(self, ctx: VerifyContext, dashboard: Dashboard):
        self.ctx = ctx
        self.dashboard = dashboard
        self._values: dict[str, list[str]] | None = None
        self._notes: dict[str, str] = {}
        self._queries: dict[str, str] = {}

    def resolve(self) -> dict[str, list[str]]:
        if self._values is None:
            self._values = {}
            for variable in self.dashboard.variables():
                self._values[variable.name] = self._resolve_one(variable)
        return self._values

    def note(self, name: str) -> str | None:
        return self._notes.get(name)

    def query_of(self, name: str) -> str | None:
        return self._queries.get(name)

    def _resolve_one(self, variable: Variable) -> list[str]:
        if variable.type in ("custom", "interval"):
            return list(variable.options) or [v.strip() for v in variable.query.split(",") if v.strip()]
        if variable.type == "constant":
            return [variable.query]
        if variable.type != "query":
            self._notes[variable.name] = f"a {variable.type} variable: nothing to resolve against Prometheus"
            return []
        query = expand_variables(variable.query, self.substitutions())
        self._queries[variable.name] = query
        parsed = label_values_query(query)
        if parsed is None:
            self._notes[variable.name] = f"unsupported variable query {query!r} (only label_values(...) is resolved)"
            return []
        selector, label = parsed
        return self.ctx.prometheus.label_values(label, selector)

    def substitutions(self) -> dict[str, str]:
        """Variable name -> the text Grafana would put in a query (with every value selected)."""
        text = dict(builtin_variables(self.ctx.scrape_interval_s))
        variables = {variable.name: variable for variable in self.dashboard.variables()}
        for name, values in (self._values or {}).items():
            if values:
                text[name] = format_values(values)
            elif name in variables:
                text[name] = variables[name].all_value or MATCH_ALL
        return text


def variable_resolves(resolver: VariableResolver, variable: Variable) -> Outcome:
    values = resolver.resolve().get(variable.name, [])
    query = resolver.query_of(variable.name)
    if values:
        return Outcome.passed(f"${variable.name} = {summarise(values, 8)}", query)
    note = resolver.note(variable.name)
    if note and variable.type != "query":
        return Outcome.skipped(note)
    return Outcome.failed(f"${variable.name} resolves to no values{': ' + note if note else ''}", query)


# --- queries ------------------------------------------------------------------------------------


def query_returns_data(ctx: VerifyContext, resolver: VariableResolver, query: PanelQuery) -> Outcome:
    resolver.resolve()
    expr = expand_variables(query.expr, resolver.substitutions())
    unresolved = variable_references(expr)
    if unresolved:
        return Outcome.failed(
            f"uses {', '.join('$' + name for name in unresolved)}, which the dashboard does not define", query.expr
        )
    try:
        names = metric_names(expr)
    except PromQLSyntaxError as exc:
        return Outcome.failed(f"not valid PromQL: {exc.reason}", expr)
    samples = ctx.prometheus.query(expr)
    if samples:
        return Outcome.passed(f"{len(samples)} series", expr)
    known = ctx.catalog.known_series(rule.name for rule in ctx.tree.recording_rules)
    missing = [name for name in sorted(names) if not ctx.prometheus.query(f"count({name})")]
    unknown = [name for name in missing if name not in known]
    if unknown:
        return Outcome.failed(f"no data: {', '.join(unknown)} has no series and is not in the catalog", expr)
    conditional = [name for name in missing if (spec := ctx.catalog.owner_of(name)) is not None and spec.conditional]
    if missing and len(conditional) == len(missing):
        reasons = "; ".join(f"{name} appears only {ctx.catalog.owner_of(name).conditional}" for name in conditional)
        return Outcome.skipped(f"no data yet, as expected: {reasons}", expr)
    allowed = empty_allowed(resolver, query)
    if allowed is not None:
        return Outcome.skipped(f"no data, which the panel allows with every variable at All (mayBeEmpty: {allowed})", expr)
    why = f": no series of {', '.join(missing)}" if missing else " (every metric has series: check the label matchers)"
    return Outcome.failed(f"returned no data{why}", expr)


def empty_allowed(resolver: VariableResolver, query: PanelQuery) -> str | None:
    """The panel's ``mayBeEmpty`` reason when it may be empty in the state verify checks (every variable
    at "All"), by the same rule as the viewer and the browser tests; None when it must show data."""
    options = resolver.resolve()
    state = {name: [ALL] for name in options}
    for panel in panels_of(resolver.dashboard.document):
        if panel.get("title") == query.panel and may_be_empty(panel, state, options):
            return str((panel.get("mayBeEmpty") or {}).get("reason") or "declared")
    return None


# --- Grafana ------------------------------------------------------------------------------------


def imports_into_grafana(ctx: VerifyContext, dashboard: Dashboard) -> Outcome:
    assert ctx.grafana is not None
    reproduce = (
        f"curl -X POST -H 'Content-Type: application/json' {ctx.endpoints.grafana}/api/dashboards/db -d @{dashboard.path.name}"
    )
    try:
        answer = ctx.grafana.import_dashboard(dashboard.document)
        stored = ctx.grafana.dashboard(dashboard.uid)
    except GrafanaError as exc:
        return Outcome.failed(str(exc), reproduce)
    panels = len(Dashboard(dashboard.path, stored).panels())
    if panels != len(dashboard.panels()):
        return Outcome.failed(f"Grafana stored {panels} panels of {len(dashboard.panels())}", reproduce)
    url = f"{ctx.endpoints.grafana}{answer.get('url', '')}"
    return Outcome.passed(f"imported as version {answer.get('version', '?')}: {url}", reproduce)
