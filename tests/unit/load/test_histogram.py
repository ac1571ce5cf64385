"""Latency histograms report percentiles within 1 % of the exact ones, and merge exactly."""

from __future__ import annotations

import random

import pytest

from agentic_trading.load.histogram import LatencyHistogram, Timeline, exact_percentile

PERCENTILES = (50, 90, 95, 99, 99.9, 100)


def _distributions() -> dict[str, list[float]]:
    rng = random.Random(42)
    return {
        # seconds: sub-millisecond loopback answers ...
        "uniform": [rng.uniform(0.0001, 0.002) for _ in range(20_000)],
        # ... a long-tailed service ...
        "lognormal": [rng.lognormvariate(-6, 1.2) for _ in range(20_000)],
        # ... and a mostly fast one with a half-second stall in 2 % of requests.
        "stalled": [rng.uniform(0.0005, 0.001) for _ in range(9_800)] + [rng.uniform(0.45, 0.5) for _ in range(200)],
    }


@pytest.mark.parametrize("name", ["uniform", "lognormal", "stalled"])
def test_percentiles_are_within_one_percent_of_a_sorted_list(name):
    values = _distributions()[name]
    histogram = LatencyHistogram()
    for value in values:
        histogram.record_seconds(value)
    assert histogram.count == len(values)
    for p in PERCENTILES:
        exact_ms = exact_percentile(values, p) * 1000
        assert histogram.percentile_ms(p) == pytest.approx(exact_ms, rel=0.01, abs=0.001), p
    assert histogram.max_ms == pytest.approx(max(values) * 1000, abs=0.001)


def test_merged_histograms_equal_one_that_saw_everything():
    values = _distributions()["lognormal"]
    whole, left, right = LatencyHistogram(), LatencyHistogram(), LatencyHistogram()
    for i, value in enumerate(values):
        whole.record_seconds(value)
        (left if i % 3 else right).record_seconds(value)
    left.merge(LatencyHistogram.decode(right.encode()))  # as between processes
    assert left.count == whole.count
    assert left.max_ms == whole.max_ms and left.min_ms == whole.min_ms
    for p in PERCENTILES:
        assert left.percentile_ms(p) == whole.percentile_ms(p)


def test_empty_histogram_reports_nothing_rather_than_zero():
    histogram = LatencyHistogram()
    assert histogram.percentile_ms(99) is None and histogram.max_ms is None
    assert LatencyHistogram.decode(histogram.encode()).count == 0


def test_latencies_beyond_the_range_are_clamped_not_lost():
    histogram = LatencyHistogram()
    histogram.record_seconds(7200.0)
    histogram.record_seconds(0.0)
    assert histogram.count == 2
    assert histogram.max_ms == 3_600_000.0


def test_timeline_rows_cover_every_second_with_its_p99():
    timeline = Timeline()
    for _ in range(100):
        timeline.record(0, 0.001, error=False)
    timeline.record(0, 0.4, error=True)
    timeline.record(2, None, error=True)  # a transport error: no latency
    other = Timeline()
    other.record(2, 0.002, error=False)
    timeline.merge(Timeline.decode(other.encode()))
    rows = timeline.rows()
    assert [row["second"] for row in rows] == [0, 1, 2]
    assert rows[0]["requests"] == 101 and rows[0]["errors"] == 1
    assert rows[0]["p99_ms"] == pytest.approx(1.0, rel=0.01)
    assert rows[1] == {"second": 1, "requests": 0, "errors": 0, "p99_ms": None}
    assert rows[2]["requests"] == 2 and rows[2]["errors"] == 1
    assert rows[2]["p99_ms"] == pytest.approx(2.0, rel=0.01)
