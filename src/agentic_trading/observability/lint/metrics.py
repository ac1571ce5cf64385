"""Lint of metric use: every metric a rule or panel selects is catalogued with the labels it
tests, and every catalogued metric is used somewhere.

A renamed metric breaks an alert (it can never fire again) or a panel ("No data")
without any error; these findings catch it at commit time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from agentic_trading.observability.lint.findings import Finding
from agentic_trading.observability.promql import PromQLSyntaxError, Selector, selectors
from agentic_trading.observability.source import Location
from agentic_trading.observability.templating import offline_expansion
from agentic_trading.observability.tree import ObservabilityTree

# Every series carries these from its scrape target (prometheus.yml), and `__name__`.
TARGET_LABELS = frozenset({"job", "instance", "service", "__name__"})


def _selector_findings(
    tree: ObservabilityTree, where: Location, user: str, found: Iterable[Selector], code_prefix: str
) -> Iterator[Finding]:
    catalog = tree.catalog
    recorded = {rule.name for rule in tree.recording_rules}
    known = catalog.known_series(recorded)
    catalog_name = tree.paths.catalog.name
    reported: set[tuple[str, str]] = set()
    for selector in found:
        if selector.metric not in known:
            if (selector.metric, "") not in reported:
                reported.add((selector.metric, ""))
                yield Finding(
                    where,
                    f"{code_prefix}-unknown-metric",
                    f"{user} selects {selector.metric}, which is not in {catalog_name}: fix the name or catalogue it",
                )
            continue
        spec = catalog.owner_of(selector.metric)
        if spec is None:  # a recording rule: its labels are whatever its expression keeps
            continue
        allowed = TARGET_LABELS | set(spec.labels) | ({"le"} if selector.metric.endswith("_bucket") else set())
        for label in selector.labels:
            if label not in allowed and (selector.metric, label) not in reported:
                reported.add((selector.metric, label))
                yield Finding(
                    where,
                    f"{code_prefix}-unknown-label",
                    f"{user} selects {selector.metric}{{{label}=…}}, but {catalog_name} gives it only "
                    f"{', '.join(spec.labels) or 'no labels'} (and job, instance, service): fix the label or the catalog",
                )


def rules_select_catalogued_metrics(tree: ObservabilityTree) -> Iterator[Finding]:
    for alert in tree.alerts:
        yield from _selector_findings(tree, alert.at("expr"), f"alert {alert.name}", alert.selectors, "alert")
    for rule in tree.recording_rules:
        yield from _selector_findings(tree, rule.location, f"recording rule {rule.name}", rule.selectors, "record")


def panels_select_catalogued_metrics(tree: ObservabilityTree) -> Iterator[Finding]:
    for dashboard in tree.dashboards:
        for query in dashboard.queries():
            try:
                found = selectors(offline_expansion(query.expr))
            except PromQLSyntaxError:
                continue  # reported by the dashboards lint as query-invalid
            where = query.location or Location(dashboard.path)
            yield from _selector_findings(tree, where, f"panel {query.panel!r} ({query.ref_id})", found, "panel")


def used_metric_names(tree: ObservabilityTree) -> set[str]:
    """Every series name an alert, a recording rule, a panel or a variable selects."""
    used = {s.metric for alert in tree.alerts for s in alert.selectors}
    used |= {s.metric for rule in tree.recording_rules for s in rule.selectors}
    for dashboard in tree.dashboards:
        texts = [query.expr for query in dashboard.queries()]
        texts += [v.query.partition("(")[2].rpartition(",")[0] or "vector(0)" for v in dashboard.variables() if v.type == "query"]
        for text in texts:
            try:
                used |= {s.metric for s in selectors(offline_expansion(text))}
            except PromQLSyntaxError:
                continue
    return used


def every_catalogued_metric_is_used(tree: ObservabilityTree) -> Iterator[Finding]:
    used = used_metric_names(tree)
    for spec in tree.catalog:
        is_used = bool(used & set(spec.series_names))
        if is_used and spec.unused:
            yield Finding(
                spec.location or Location(tree.paths.catalog),
                "metric-unused-stale",
                f"{spec.name} says `unused` but is used now: delete its `unused:`",
            )
        if not is_used and not spec.unused:
            yield Finding(
                spec.location or Location(tree.paths.catalog),
                "metric-unused",
                f"{spec.name} is catalogued but no alert, recording rule or panel uses it: show it, drop it, or say why in `unused:`",
            )


def counters_end_in_total(tree: ObservabilityTree) -> Iterator[Finding]:
    for spec in tree.catalog.of_type("counter"):
        if not spec.name.endswith("_total"):
            yield Finding(spec.location or Location(tree.paths.catalog), "counter-name", f"counter {spec.name}: name it *_total")


RULE_LINTS = (rules_select_catalogued_metrics,)
PANEL_LINTS = (panels_select_catalogued_metrics,)
CATALOG_LINTS = (every_catalogued_metric_is_used, counters_end_in_total)
