"""Grafana's template syntax in queries: variables found, expanded, and the built-in intervals.

``$var``, ``${var}``, ``${var:fmt}`` and ``[[var]]`` are not PromQL: :func:`expand_variables`
replaces them the way Grafana does before a query reaches Prometheus; a multi-value or
"All" selection becomes ``(v1|v2|…)``. :func:`offline_expansion` makes any panel query
parseable without a server (every variable ``.*``), which the lint uses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from agentic_trading.observability.durations import format_duration

# Grafana's own variable regex (public/app/features/variables/utils.ts).
_VARIABLE = re.compile(r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}")
_REGEX_META = set("\\.+*?()|[]{}^$")
# What an unresolvable multi-value variable becomes when no allValue is set.
MATCH_ALL = ".*"


def variable_references(expr: str) -> list[str]:
    """Names of the Grafana variables the text uses, in order of first use."""
    seen: list[str] = []
    for match in _VARIABLE.finditer(expr):
        name = match.group(1) or match.group(2) or match.group(4)
        if name not in seen:
            seen.append(name)
    return seen


def regex_escape(value: str) -> str:
    """``value`` as a literal inside a regex inside a PromQL string (``a.b`` -> ``a\\\\.b``).

    The regex needs ``\\.``; the double-quoted PromQL string needs that backslash doubled.
    """
    return "".join("\\\\" + char if char in _REGEX_META else char for char in value)


def format_values(values: Sequence[str]) -> str:
    """How Grafana writes a selection into a Prometheus query: one value, or ``(a|b|c)``."""
    escaped = [regex_escape(value) for value in values]
    if len(escaped) == 1:
        return escaped[0]
    return "(" + "|".join(escaped) + ")"


def expand_variables(expr: str, values: Mapping[str, str]) -> str:
    """Replace every reference to a variable in ``values`` by its text; leave others as they are."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(4)
        return values.get(name, match.group(0))

    return _VARIABLE.sub(replace, expr)


def builtin_variables(scrape_interval_s: float, range_s: float = 3600.0) -> dict[str, str]:
    """Grafana's global variables as they would read on a dashboard showing the last ``range_s``.

    ``$__rate_interval`` follows Grafana's rule: at least four scrape intervals.
    """
    interval = max(scrape_interval_s, 1.0)
    rate_interval = max(4 * scrape_interval_s, interval + scrape_interval_s)
    return {
        "__interval": format_duration(interval),
        "__interval_ms": str(int(interval * 1000)),
        "__rate_interval": format_duration(rate_interval),
        "__range": format_duration(range_s),
        "__range_s": str(int(range_s)),
        "__range_ms": str(int(range_s * 1000)),
    }


def label_values_query(query: str) -> tuple[str | None, str] | None:
    """``label_values(metric{...}, label)`` -> (selector, label); ``label_values(label)`` -> (None, label).

    None for any other variable query (``query_result(...)``, ``metrics(...)``, …).
    """
    match = re.fullmatch(r"\s*label_values\s*\((.*)\)\s*", query, flags=re.S)
    if not match:
        return None
    inner = match.group(1).strip()
    head, comma, label = inner.rpartition(",")
    if not comma:
        return (None, inner) if re.fullmatch(r"\w+", inner) else None
    label = label.strip()
    if not re.fullmatch(r"\w+", label):
        return None
    return head.strip(), label


def offline_expansion(expr: str, scrape_interval_s: float = 15.0) -> str:
    """The query with every variable replaced by something that parses (``.*``, builtin intervals)."""
    expanded = expand_variables(expr, builtin_variables(scrape_interval_s))
    return expand_variables(expanded, {name: MATCH_ALL for name in variable_references(expanded)})
