"""The invariants of the observability tree as pure functions over the model, each yielding findings.

Areas, as ``atctl lint --area`` and ``atctl verify`` group them:

* ``alerts``: unit tests both ways, runbooks, severities, ``runbook_url``, hold times,
  catalogued metrics and labels in rules, routes to known receivers, inhibitions;
* ``dashboards``: unique uids, complete panels, parseable queries, resolvable
  variables, catalogued metrics and labels in panels;
* ``catalog``: every catalogued metric used, counters named ``*_total``.

    from agentic_trading.observability import load_tree, lint_tree
    for finding in lint_tree(load_tree()):
        print(finding.describe())
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

from agentic_trading.observability.lint import alerts, dashboards, metrics, routing
from agentic_trading.observability.lint.findings import Finding, display_path
from agentic_trading.observability.tree import ObservabilityTree

Lint = Callable[[ObservabilityTree], Iterable[Finding]]

AREAS: dict[str, tuple[Lint, ...]] = {
    "alerts": alerts.LINTS + metrics.RULE_LINTS + routing.LINTS,
    "dashboards": dashboards.LINTS + metrics.PANEL_LINTS,
    "catalog": metrics.CATALOG_LINTS,
}


def lint_tree(tree: ObservabilityTree, areas: Sequence[str] = tuple(AREAS)) -> list[Finding]:
    """Every finding of the chosen areas, sorted by file and line."""
    unknown = [area for area in areas if area not in AREAS]
    if unknown:
        raise ValueError(f"unknown lint areas {unknown}; choose from {', '.join(AREAS)}")
    return sorted(_run(tree, [lint for area in areas for lint in AREAS[area]]))


def _run(tree: ObservabilityTree, lints: Iterable[Lint]) -> Iterator[Finding]:
    for lint in lints:
        yield from lint(tree)


__all__ = ["AREAS", "Finding", "Lint", "display_path", "lint_tree"]
