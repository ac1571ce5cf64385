"""Ranges, histogram consistency and counter resets, on hand-made samples."""

from __future__ import annotations

import math

from agentic_trading.observability.catalog import parse_entry
from agentic_trading.verify.invariants import histogram_problems, out_of_range, unexplained_resets
from agentic_trading.verify.prometheus import Sample

CONFIDENCE = parse_entry("agent_confidence_score", {"type": "gauge", "labels": ["agent_type"], "range": [0, 1]})


def _bucket(le: str, value: float, **labels: str) -> Sample:
    return Sample({"__name__": "h_bucket", "le": le, **labels}, value)


def _count(value: float, **labels: str) -> Sample:
    return Sample({"__name__": "h_count", **labels}, value)


def test_a_gauge_above_its_range_is_reported_with_its_series() -> None:
    samples = [
        Sample({"__name__": "agent_confidence_score", "agent_type": "risk"}, 0.7),
        Sample({"__name__": "agent_confidence_score", "agent_type": "momentum"}, 1.3),
        Sample({"__name__": "agent_confidence_score", "agent_type": "sentiment"}, math.nan),
    ]
    bad = out_of_range(CONFIDENCE, samples)
    assert [s.labels["agent_type"] for s in bad] == ["momentum", "sentiment"]
    assert bad[0].describe() == 'agent_confidence_score{agent_type="momentum"}'


def test_the_range_edges_are_valid() -> None:
    assert out_of_range(CONFIDENCE, [Sample({}, 0.0), Sample({}, 1.0)]) == []


def test_a_consistent_histogram_has_no_problem() -> None:
    buckets = [_bucket("0.1", 2, job="g"), _bucket("1", 5, job="g"), _bucket("+Inf", 7, job="g")]
    assert histogram_problems(buckets, [_count(7, job="g")]) == []


def test_a_bucket_below_a_smaller_le_is_reported() -> None:
    buckets = [_bucket("0.1", 4, job="g"), _bucket("1", 3, job="g"), _bucket("+Inf", 4, job="g")]
    problems = histogram_problems(buckets, [_count(4, job="g")])
    assert problems == ['{job="g"}: bucket le=1 holds 3, fewer than le=0.1 (4)']


def test_inf_bucket_must_equal_count() -> None:
    buckets = [_bucket("1", 3, job="g"), _bucket("+Inf", 5, job="g")]
    assert histogram_problems(buckets, [_count(6, job="g")]) == ['{job="g"}: le="+Inf" holds 5 but _count is 6']


def test_missing_inf_bucket_or_count_are_reported() -> None:
    assert histogram_problems([_bucket("1", 3, job="g")], [_count(3, job="g")]) == ['{job="g"}: no le="+Inf" bucket']
    assert histogram_problems([_bucket("+Inf", 3, job="g")], []) == ['{job="g"}: no _count series']


def test_series_are_compared_only_with_their_own_count() -> None:
    buckets = [_bucket("+Inf", 3, job="a"), _bucket("+Inf", 9, job="b")]
    assert histogram_problems(buckets, [_count(3, job="a"), _count(9, job="b")]) == []


def test_resets_are_excused_only_for_restarted_targets() -> None:
    resets = [
        Sample({"job": "gateway", "instance": "g:1"}, 1),
        Sample({"job": "nats", "instance": "n:1"}, 2),
    ]
    bad = unexplained_resets(resets, {("gateway", "g:1")})
    assert [s.labels["job"] for s in bad] == ["nats"]
    assert unexplained_resets([Sample({"job": "x", "instance": "i"}, 0)], set()) == []
