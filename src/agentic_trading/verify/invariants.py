"""What must hold for any sample of a metric: pure functions over query results.

* gauges (and counters) stay inside their catalog range;
* histogram buckets never decrease as ``le`` grows, and ``le="+Inf"`` equals ``_count``;
* a counter decreases only when its process restarted.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable

from agentic_trading.observability.catalog import MetricSpec
from agentic_trading.verify.prometheus import Sample

SeriesKey = tuple[tuple[str, str], ...]


def series_key(labels: dict[str, str], drop: Iterable[str] = ("__name__",)) -> SeriesKey:
    dropped = set(drop)
    return tuple(sorted((k, v) for k, v in labels.items() if k not in dropped))


def out_of_range(spec: MetricSpec, samples: Iterable[Sample]) -> list[Sample]:
    """The samples outside the catalog range of ``spec`` (NaN counts as outside)."""
    return [sample for sample in samples if not spec.in_range(sample.value)]


def _le(value: str) -> float:
    return math.inf if value in ("+Inf", "Inf", "inf") else float(value)


def histogram_problems(buckets: Iterable[Sample], counts: Iterable[Sample]) -> list[str]:
    """Every way the histogram's series contradict each other, one line per series."""
    by_series: dict[SeriesKey, list[tuple[float, float]]] = defaultdict(list)
    for sample in buckets:
        if "le" not in sample.labels:
            continue
        by_series[series_key(sample.labels, ("__name__", "le"))].append((_le(sample.labels["le"]), sample.value))
    count_of = {series_key(sample.labels): sample.value for sample in counts}
    problems = []
    for key, points in sorted(by_series.items()):
        where = "{" + ", ".join(f'{k}="{v}"' for k, v in key) + "}"
        points.sort()
        for (low_le, low), (high_le, high) in zip(points, points[1:], strict=False):
            if high < low:
                problems.append(f"{where}: bucket le={high_le:g} holds {high:g}, fewer than le={low_le:g} ({low:g})")
        if not points or not math.isinf(points[-1][0]):
            problems.append(f'{where}: no le="+Inf" bucket')
            continue
        inf_value = points[-1][1]
        count = count_of.get(key)
        if count is None:
            problems.append(f"{where}: no _count series")
        elif count != inf_value:
            problems.append(f'{where}: le="+Inf" holds {inf_value:g} but _count is {count:g}')
    return problems


def unexplained_resets(resets: Iterable[Sample], restarted: set[tuple[str, str]]) -> list[Sample]:
    """Counter series that went down although their target (job, instance) did not restart."""
    return [
        sample
        for sample in resets
        if sample.value > 0 and (sample.labels.get("job", ""), sample.labels.get("instance", "")) not in restarted
    ]
