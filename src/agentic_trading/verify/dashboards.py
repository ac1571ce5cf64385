"""Dashboards: does every panel of every dashboard show data, and only catalogued metrics?

The specification's ``test_dashboard_queries.py`` with what it leaves out: template
variables are resolved against Prometheus and expanded as Grafana's "All" does
(``(v1|v2|…)``), so ``$agent_type`` panels are really checked; a query that returns
nothing fails; every metric a query names must be in the catalog. With a Grafana URL
the dashboards are also imported through its API.
"""

from __future__ import annotations

from functools import partial

from agentic_trading.verify.context import VerifyContext
from agentic_trading.verify.dashboard_files import (
    Dashboard,
    PanelQuery,
    Variable,
    dashboard_paths,
    duplicate_uids,
    lint_dashboard,
    load_dashboard,
)
from agentic_trading.verify.errors import VerifyInputError
from agentic_trading.verify.grafana import GrafanaError
from agentic_trading.verify.model import Check, Outcome, counted, summarise
from agentic_trading.verify.promql import (
    PromQLSyntaxError,
    builtin_variables,
    expand_variables,
    format_values,
    label_values_query,
    metric_names,
    variable_references,
)

CATEGORY = "dashboards"
# What an unresolvable multi-value variable becomes when no allValue is set.
MATCH_ALL = ".*"


def plan(ctx: VerifyContext) -> list[Check]:
    checks: list[Check] = []
    dashboards: list[Dashboard] = []
    for path in dashboard_paths(ctx.sources.dashboards_dir):
        try:
            dashboards.append(load_dashboard(path))
        except VerifyInputError as exc:
            checks.append(
                Check(CATEGORY, f"json {path.name}", f"{path.name} is dashboard JSON", partial(Outcome.failed, str(exc)))
            )
    checks.append(Check(CATEGORY, "unique uids", "no two dashboards share a uid", partial(uids_unique, dashboards)))
    for dashboard in dashboards:
        resolver = VariableResolver(ctx, dashboard)
        checks.append(
            Check(
                CATEGORY,
                f"lint {dashboard.uid}",
                f"{dashboard.path.name}: every panel has a datasource and a query",
                partial(dashboard_lints_clean, dashboard),
            )
        )
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
        checks.append(
            Check(
                CATEGORY,
                f"catalog {dashboard.uid}",
                f"every metric a query of {dashboard.uid} names is in {ctx.sources.catalog.name} or is a recording rule",
                partial(metrics_catalogued, ctx, dashboard),
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


# --- lint -----------------------------------------------------------------------------------


def uids_unique(dashboards: list[Dashboard]) -> Outcome:
    duplicates = duplicate_uids(dashboards)
    if duplicates:
        lines = [f"uid {uid!r} in {', '.join(files)}" for uid, files in duplicates.items()]
        return Outcome.failed(f"{counted(len(duplicates), 'uid')} used twice: {summarise(lines, 3)}", details=lines)
    return Outcome.passed(f"{len(dashboards)} dashboards, {len(dashboards)} distinct uids")


def dashboard_lints_clean(dashboard: Dashboard) -> Outcome:
    problems = lint_dashboard(dashboard)
    if problems:
        return Outcome.failed(f"{dashboard.path.name}: {summarise(problems, 3)}", details=problems)
    return Outcome.passed(f"{len(dashboard.panels())} panels, each with a datasource and a query")


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


def offline_expansion(expr: str, scrape_interval_s: float = 15.0) -> str:
    """The query with every variable replaced by something that parses (``.*``, builtin intervals)."""
    expanded = expand_variables(expr, builtin_variables(scrape_interval_s))
    return expand_variables(expanded, {name: MATCH_ALL for name in variable_references(expanded)})


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
    known = ctx.catalog.known_series(ctx.rule_files.recorded_names())
    missing = [name for name in sorted(names) if not ctx.prometheus.query(f"count({name})")]
    unknown = [name for name in missing if name not in known]
    if unknown:
        return Outcome.failed(f"no data: {', '.join(unknown)} has no series and is not in the catalog", expr)
    conditional = [name for name in missing if (spec := ctx.catalog.owner_of(name)) is not None and spec.conditional]
    if missing and len(conditional) == len(missing):
        reasons = "; ".join(f"{name} appears only {ctx.catalog.owner_of(name).conditional}" for name in conditional)
        return Outcome.skipped(f"no data yet, as expected: {reasons}", expr)
    why = f": no series of {', '.join(missing)}" if missing else " (every metric has series: check the label matchers)"
    return Outcome.failed(f"returned no data{why}", expr)


def metrics_catalogued(ctx: VerifyContext, dashboard: Dashboard) -> Outcome:
    known = ctx.catalog.known_series(ctx.rule_files.recorded_names())
    unknown: list[str] = []
    broken: list[str] = []
    named: set[str] = set()
    for query in dashboard.queries():
        try:
            names = metric_names(offline_expansion(query.expr))
        except PromQLSyntaxError as exc:
            broken.append(f"panel {query.panel!r} {query.ref_id}: {exc.reason}")
            continue
        named |= names
        unknown.extend(f"panel {query.panel!r} names {name}" for name in sorted(names - known))
    if unknown or broken:
        lines = unknown + broken
        what = f"not in {ctx.sources.catalog.name}" if unknown else "queries that do not parse"
        return Outcome.failed(f"{what}: {summarise(lines, 3)}", details=lines)
    return Outcome.passed(f"{len(named)} metrics named, all catalogued")


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
