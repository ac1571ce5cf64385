"""Pass/fail thresholds on a load result, written the way k6 writes them.

``p99<50ms``, ``p95<=0.2s``, ``max<1s``, ``errors<0.1%``, ``success>=99.9%``,
``rps>1000``, ``requests>=10000``. Latencies take ``us``, ``ms`` (the default) or
``s``; ``errors`` and ``success`` a percentage or a fraction (``0.001``).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from agentic_trading.load.errors import ThresholdError
from agentic_trading.load.report import PERCENTILES, LoadResult

_LATENCY_METRICS = {**PERCENTILES, "max": 100.0}
_RATIO_METRICS = ("errors", "success")
_COUNT_METRICS = ("rps", "requests")
METRICS = (*_LATENCY_METRICS, *_RATIO_METRICS, *_COUNT_METRICS)

# k6 spells p(99); people write error_rate or throughput.
_ALIASES = {"error": "errors", "error_rate": "errors", "throughput": "rps", "p999": "p999", "p99.9": "p999"}

_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_LATENCY_UNITS = {"us": 0.001, "µs": 0.001, "ms": 1.0, "s": 1000.0}
_PATTERN = re.compile(
    r"^\s*(?P<metric>[A-Za-z][A-Za-z0-9.()_]*?)\s*(?P<op><=|>=|<|>)\s*"
    r"(?P<number>[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*(?P<unit>[A-Za-zµ%/]*)\s*$"
)
_GRAMMAR = "METRIC OP VALUE, e.g. 'p99<50ms', 'errors<0.1%', 'rps>1000'"


@dataclass(frozen=True)
class Threshold:
    """``metric op limit``; latency limits in milliseconds, ratios as fractions."""

    text: str
    metric: str
    op: str
    limit: float

    def actual(self, result: LoadResult) -> float | None:
        """The measured value this threshold compares (``None`` when nothing was measured)."""
        if self.metric in _LATENCY_METRICS:
            if self.metric == "max":
                return result.latency.max_ms
            return result.latency.percentile_ms(_LATENCY_METRICS[self.metric])
        if self.metric == "errors":
            return result.error_rate if result.requests else None
        if self.metric == "success":
            return result.success_rate if result.requests else None
        if self.metric == "rps":
            return result.throughput_rps
        return float(result.requests)

    def check(self, result: LoadResult) -> ThresholdOutcome:
        actual = self.actual(result)
        passed = actual is not None and _OPERATORS[self.op](actual, self.limit)
        return ThresholdOutcome(self, actual, passed)

    def format_value(self, value: float | None) -> str:
        if value is None:
            return "nothing measured"
        if self.metric in _LATENCY_METRICS:
            return f"{value:.2f} ms"
        if self.metric in _RATIO_METRICS:
            return f"{value * 100:.3g}%"
        return f"{value:,.1f}" if self.metric == "rps" else f"{value:,.0f}"


@dataclass(frozen=True)
class ThresholdOutcome:
    threshold: Threshold
    actual: float | None
    passed: bool

    def describe(self) -> str:
        t = self.threshold
        verdict = "ok" if self.passed else "crossed"
        return f"{t.text}: {verdict} ({t.metric} = {t.format_value(self.actual)})"

    def as_dict(self) -> dict[str, object]:
        return {"threshold": self.threshold.text, "actual": self.actual, "passed": self.passed}


def parse_threshold(text: str) -> Threshold:
    """Parse one expression; :class:`ThresholdError` says what is wrong and what would be right."""
    match = _PATTERN.match(text)
    if match is None:
        raise ThresholdError(f"threshold {text!r} is not of the form {_GRAMMAR}")
    metric = match["metric"].lower().replace("(", "").replace(")", "")
    metric = _ALIASES.get(metric, metric)
    op = match["op"]
    number = float(match["number"])
    unit = match["unit"]
    if metric not in METRICS:
        raise ThresholdError(f"threshold {text!r}: unknown metric {metric!r}; known: {', '.join(METRICS)}")
    if metric in _LATENCY_METRICS:
        if unit and unit not in _LATENCY_UNITS:
            raise ThresholdError(f"threshold {text!r}: {metric} is a latency; write its unit as us, ms or s (e.g. {metric}<50ms)")
        limit = number * _LATENCY_UNITS[unit or "ms"]
    elif metric in _RATIO_METRICS:
        if unit == "%":
            limit = number / 100.0
        elif unit:
            raise ThresholdError(f"threshold {text!r}: {metric} is a share of requests; write it as 0.1% or 0.001")
        elif number > 1:
            raise ThresholdError(f"threshold {text!r}: {number:g} is more than all requests; did you mean {number:g}%?")
        else:
            limit = number
        if limit > 1:
            raise ThresholdError(f"threshold {text!r}: a share of requests cannot exceed 100%")
    else:
        allowed = ("", "/s", "rps") if metric == "rps" else ("",)
        if unit not in allowed:
            example = "rps>1000" if metric == "rps" else "requests>=10000"
            raise ThresholdError(f"threshold {text!r}: {metric} takes a plain number (e.g. {example})")
        limit = number
    return Threshold(text=text.strip(), metric=metric, op=op, limit=limit)


def parse_thresholds(texts: Iterable[str]) -> list[Threshold]:
    return [parse_threshold(text) for text in texts]


def check_thresholds(thresholds: Iterable[Threshold], result: LoadResult) -> list[ThresholdOutcome]:
    return [threshold.check(result) for threshold in thresholds]
