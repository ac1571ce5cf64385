"""Lint of the Grafana dashboards: what Grafana would show broken, found without a server."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from agentic_trading.observability.dashboards import QUERYLESS_PANEL_TYPES, Dashboard
from agentic_trading.observability.lint.findings import Finding
from agentic_trading.observability.promql import PromQLSyntaxError, parse, selectors
from agentic_trading.observability.templating import label_values_query, offline_expansion, variable_references
from agentic_trading.observability.tree import ObservabilityTree

# Grafana's built-in variables ($__rate_interval, $__interval, …) need no definition.
BUILTIN_PREFIX = "__"


def uids_are_unique(tree: ObservabilityTree) -> Iterator[Finding]:
    counts = Counter(dashboard.uid for dashboard in tree.dashboards)
    first: dict[str, Dashboard] = {}
    for dashboard in tree.dashboards:
        if not dashboard.document.get("uid"):
            yield Finding(
                dashboard.at("title"), "dashboard-no-uid", "give the dashboard a uid: Grafana makes one up on each import"
            )
        elif counts[dashboard.uid] > 1 and dashboard.uid in first:
            yield Finding(
                dashboard.at("uid"),
                "dashboard-duplicate-uid",
                f"uid {dashboard.uid!r} is already used by {first[dashboard.uid].path.name}: give this dashboard its own",
            )
        first.setdefault(dashboard.uid, dashboard)


def panels_are_complete(tree: ObservabilityTree) -> Iterator[Finding]:
    for dashboard in tree.dashboards:
        ids = Counter(panel.id for panel in dashboard.panels() if panel.id is not None)
        seen: set[object] = set()
        for panel in dashboard.panels():
            where = f"panel {panel.title!r}"
            if panel.id is not None and ids[panel.id] > 1 and panel.id in seen:
                yield Finding(panel.location, "panel-duplicate-id", f"{where}: id {panel.id} is used twice in the dashboard")
            seen.add(panel.id)
            if panel.type in QUERYLESS_PANEL_TYPES:
                continue
            targets = panel.targets
            if not panel.datasource and not (targets and all(t.datasource for t in targets)):
                yield Finding(panel.location, "panel-no-datasource", f"{where} has no datasource: set one on the panel")
            if not any(t.expr for t in targets):
                yield Finding(panel.location, "panel-no-query", f"{where} has no query: add a target with an expr")
            ref_ids = Counter(t.ref_id for t in targets)
            for ref_id, count in ref_ids.items():
                if count > 1:
                    yield Finding(panel.location, "target-duplicate-refid", f"{where}: refId {ref_id} is used {count} times")


def queries_parse(tree: ObservabilityTree) -> Iterator[Finding]:
    for dashboard in tree.dashboards:
        defined = {variable.name for variable in dashboard.variables()}
        for query in dashboard.queries():
            where = f"panel {query.panel!r} ({query.ref_id})"
            for name in variable_references(query.expr):
                if name.startswith(BUILTIN_PREFIX):
                    yield Finding(
                        query.location,
                        "query-grafana-macro",
                        f"{where} uses ${name}: the specification's scripts send queries to Prometheus as written",
                    )
                elif name not in defined:
                    yield Finding(
                        query.location, "variable-undefined", f"{where} uses ${name}, which the dashboard does not define"
                    )
            try:
                parse(offline_expansion(query.expr))
            except PromQLSyntaxError as exc:
                yield Finding(query.location, "query-invalid", f"{where} is not valid PromQL: {exc.reason}")


def variables_resolve(tree: ObservabilityTree) -> Iterator[Finding]:
    """A query variable can only resolve through label_values() on a catalogued metric and label."""
    catalog = tree.catalog
    for dashboard in tree.dashboards:
        earlier: set[str] = set()
        for variable in dashboard.variables():
            for name in variable_references(variable.query):
                if not name.startswith(BUILTIN_PREFIX) and name not in earlier:
                    yield Finding(
                        variable.location, "variable-undefined", f"${variable.name} uses ${name}: define ${name} before it"
                    )
            earlier.add(variable.name)
            if variable.type != "query":
                continue
            parsed = label_values_query(offline_expansion(variable.query))
            if parsed is None:
                yield Finding(
                    variable.location,
                    "variable-unresolvable",
                    f"${variable.name}: only label_values(metric, label) queries resolve; got {variable.query!r}",
                )
                continue
            selector, label = parsed
            if selector is None:
                continue
            try:
                names = {s.metric for s in selectors(selector)}
            except PromQLSyntaxError as exc:
                yield Finding(variable.location, "variable-unresolvable", f"${variable.name}: {exc.reason}")
                continue
            for name in names:
                spec = catalog.owner_of(name)
                if spec is None:
                    yield Finding(
                        variable.location,
                        "variable-unresolvable",
                        f"${variable.name} takes values of {name}, which is not in {tree.paths.catalog.name}",
                    )
                elif label not in set(spec.labels) | {"job", "instance", "service"}:
                    yield Finding(
                        variable.location,
                        "variable-unresolvable",
                        f"${variable.name} takes label {label} of {name}, which has only {', '.join(spec.labels) or 'none'}",
                    )


LINTS = (uids_are_unique, panels_are_complete, queries_parse, variables_resolve)
