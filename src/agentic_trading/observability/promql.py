"""PromQL analysis without a server: the metrics and labels a query selects, its windows, its threshold.

Parsing is done by ``promql-parser`` (Python bindings of the Rust ``promql-parser``
crate, the grammar of Prometheus itself), so functions, keywords, label names,
strings, durations and subqueries are told apart by a real parser, not by regexes.
"""

from __future__ import annotations

from dataclasses import dataclass

import promql_parser

from agentic_trading.errors import AgenticTradingError

COMPARISONS = frozenset({"==", "!=", ">", "<", ">=", "<="})


class PromQLSyntaxError(AgenticTradingError, ValueError):
    """The text is not valid PromQL; the message is the parser's, with the query."""

    exit_code = 2

    def __init__(self, query: str, reason: str):
        self.query = query
        self.reason = reason
        super().__init__(f"{reason}: {query}")


@dataclass(frozen=True)
class Selector:
    """One vector selector: the metric it names and the labels its matchers test."""

    metric: str
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Threshold:
    """The comparison at the top of an alert expression: ``> 0.01`` is ``Threshold(">", 0.01)``."""

    op: str
    value: float

    def __str__(self) -> str:
        return f"{self.op} {self.value:g}"


def parse(expr: str) -> promql_parser.Expr:
    try:
        return promql_parser.parse(expr)
    except ValueError as exc:
        raise PromQLSyntaxError(expr.strip(), str(exc)) from exc


def selectors(expr: str) -> tuple[Selector, ...]:
    """Every named vector selector, in order (``foo{a="b"}`` and ``{__name__="foo"}``).

    Raises :class:`PromQLSyntaxError` when the expression does not parse.
    """
    found: list[Selector] = []

    def visit(node: object) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            matchers = node.matchers.matchers
            labels = tuple(m.name for m in matchers if m.name != "__name__")
            names = [node.name] if node.name else []
            names += [m.value for m in matchers if m.name == "__name__" and m.op == promql_parser.MatchOp.Equal]
            found.extend(Selector(name, labels) for name in names)
        return True

    promql_parser.walk(parse(expr), visit)
    return tuple(found)


def metric_names(expr: str) -> set[str]:
    """Every metric name the expression selects; raises :class:`PromQLSyntaxError`."""
    return {selector.metric for selector in selectors(expr)}


def range_windows(expr: str) -> tuple[float, ...]:
    """The seconds of every range selector (``[5m]`` -> 300.0), in order."""
    windows: list[float] = []

    def visit(node: object) -> bool:
        if isinstance(node, promql_parser.MatrixSelector):
            windows.append(node.range.total_seconds())
        return True

    promql_parser.walk(parse(expr), visit)
    return tuple(windows)


def threshold(expr: str) -> Threshold | None:
    """The comparison that decides an alert, or None (``vector(1)``).

    ``x > 0.5`` -> ``> 0.5``; ``(x == 0) and on () (y > 0)`` -> ``== 0`` (the left side
    says what fires, the right when); ``x == 0 or y == 0`` -> ``== 0`` (both sides agree).
    """
    return _threshold(parse(expr))


def _threshold(node: object) -> Threshold | None:
    while isinstance(node, promql_parser.ParenExpr):
        node = node.expr
    if not isinstance(node, promql_parser.BinaryExpr):
        return None
    op = str(node.op).lower()
    if op in COMPARISONS and isinstance(node.rhs, promql_parser.NumberLiteral):
        return Threshold(op, float(node.rhs.val))
    if op in ("and", "unless"):
        return _threshold(node.lhs)
    if op == "or":
        left = _threshold(node.lhs)
        return left if left is not None and left == _threshold(node.rhs) else None
    return None
