"""k6-style thresholds: what parses, what is refused (and how), and when a run crosses one."""

from __future__ import annotations

import pytest

from agentic_trading.load.report import LoadResult
from agentic_trading.load.thresholds import ThresholdError, check_thresholds, parse_threshold


@pytest.mark.parametrize(
    ("text", "metric", "op", "limit"),
    [
        ("p99<50ms", "p99", "<", 50.0),
        ("p95 <= 0.2s", "p95", "<=", 200.0),
        ("p50<500us", "p50", "<", 0.5),
        ("p99.9<1s", "p999", "<", 1000.0),
        ("p(99)<40", "p99", "<", 40.0),
        ("max<2s", "max", "<", 2000.0),
        ("errors<0.1%", "errors", "<", 0.001),
        ("errors<0.001", "errors", "<", 0.001),
        ("success>=99.9%", "success", ">=", 0.999),
        ("rps>1000", "rps", ">", 1000.0),
        ("rps>1e3/s", "rps", ">", 1000.0),
        ("requests>=10000", "requests", ">=", 10000.0),
    ],
)
def test_expressions_parse_into_metric_operator_and_limit(text, metric, op, limit):
    threshold = parse_threshold(text)
    assert (threshold.metric, threshold.op) == (metric, op)
    assert threshold.limit == pytest.approx(limit)


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("p99 50ms", "is not of the form METRIC OP VALUE"),
        ("p99<", "is not of the form"),
        ("p98<50ms", "unknown metric 'p98'; known: p50, p90, p95, p99, p999, max"),
        ("p99<50kg", "write its unit as us, ms or s"),
        ("errors<5", "did you mean 5%?"),
        ("errors<5ms", "write it as 0.1% or 0.001"),
        ("rps>10ms", "rps takes a plain number"),
        ("success>120%", "cannot exceed 100%"),
    ],
)
def test_bad_expressions_say_what_is_wrong(text, hint):
    with pytest.raises(ThresholdError) as caught:
        parse_threshold(text)
    assert hint in str(caught.value)
    assert repr(text) in str(caught.value)


def _result(latencies_s: list[float], statuses: list[int | None], elapsed_s: float) -> LoadResult:
    result = LoadResult(target="http://t/x", model={"kind": "open"})
    for latency, status in zip(latencies_s, statuses, strict=True):
        result.record(0, latency, status, None if status else "timeout")
    result.elapsed_s = elapsed_s
    return result


def test_a_run_crosses_exactly_the_thresholds_it_misses():
    # 1000 requests in 2 s: 990 fast, 10 slow (p99.9 slow, p99 fast); 5 answered 503, 1 timed out.
    latencies = [0.002] * 990 + [0.3] * 10
    statuses: list[int | None] = [200] * 994 + [503] * 5 + [None]
    result = _result(latencies, statuses, elapsed_s=2.0)
    outcomes = {
        o.threshold.text: o
        for o in check_thresholds(
            [parse_threshold(t) for t in ("p99<50ms", "p999<50ms", "errors<0.1%", "errors<1%", "rps>400", "rps>600")],
            result,
        )
    }
    assert {text: o.passed for text, o in outcomes.items()} == {
        "p99<50ms": True,
        "p999<50ms": False,
        "errors<0.1%": False,
        "errors<1%": True,
        "rps>400": True,
        "rps>600": False,
    }
    assert outcomes["errors<0.1%"].actual == pytest.approx(0.006)
    assert outcomes["p999<50ms"].describe().startswith("p999<50ms: crossed (p999 = 30")
    assert outcomes["rps>400"].describe() == "rps>400: ok (rps = 500.0)"


def test_latency_thresholds_fail_when_nothing_was_answered():
    result = _result([0.0], [None], elapsed_s=1.0)
    outcome = parse_threshold("p99<50ms").check(result)
    assert not outcome.passed
    assert "nothing measured" in outcome.describe()
