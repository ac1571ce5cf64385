"""The JSON report's shape, merging worker results, and the generator-lag warning."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from agentic_trading.load.model import OpenModel
from agentic_trading.load.report import GeneratorLag, LoadResult, render_text

JSON_KEYS = {
    "requests",
    "success_rate",
    "throughput_rps",
    "latency_ms",
    "status_codes",
    "errors",
    "timeline",
    "generator_lag",
    "model",
    "target",
}


def _worker_result(offset_s: float) -> LoadResult:
    result = LoadResult(target="http://127.0.0.1:8001/webhook/tradingview", model=OpenModel(50, 2).describe())
    result.generator_lag = GeneratorLag()
    for i in range(100):
        result.generator_lag.record(0.0005)
        result.record(i // 50, 0.001 + offset_s, 200 if i else 503, None)
    result.record(1, 0.0, None, "connection_reset")
    result.elapsed_s = 2.0
    return result


def test_json_report_has_the_documented_keys_and_values():
    report = json.loads(json.dumps(_worker_result(0).as_dict()))
    assert JSON_KEYS <= set(report)
    assert set(report["latency_ms"]) == {"p50", "p90", "p95", "p99", "p999", "max"}
    assert report["requests"] == 101
    assert report["success_rate"] == pytest.approx(99 / 101, abs=1e-6)
    assert report["throughput_rps"] == pytest.approx(50.5)
    assert report["status_codes"] == {"200": 99, "503": 1}
    assert report["errors"] == {"connection_reset": 1}
    assert report["timeline"] == [
        {"second": 0, "requests": 50, "errors": 1, "p99_ms": pytest.approx(1.0, rel=0.01)},
        {"second": 1, "requests": 51, "errors": 1, "p99_ms": pytest.approx(1.0, rel=0.01)},
    ]
    assert report["generator_lag"]["fell_behind"] is False


def test_worker_results_merge_as_if_one_process_measured_them():
    merged = LoadResult.from_wire(_worker_result(0).to_wire())
    merged.merge(LoadResult.from_wire(_worker_result(0.1).to_wire()))
    assert merged.requests == 202
    assert merged.status_codes == {"200": 198, "503": 2}
    assert merged.latency.percentile_ms(50) == pytest.approx(1.0, rel=0.01)
    assert merged.latency.max_ms == pytest.approx(101.0)
    assert merged.generator_lag.dispatched == 200
    assert [row["requests"] for row in merged.timeline.rows()] == [100, 102]


def test_generator_lag_warns_only_past_one_percent_late():
    lag = GeneratorLag()
    for _ in range(99):
        lag.record(0.001)
    lag.record(0.050)
    assert not lag.fell_behind and lag.warning() is None
    lag.record(0.020)
    assert lag.fell_behind
    assert "fell behind: 2.0% of requests" in lag.warning()
    assert "--workers" in lag.warning()


def test_text_report_shows_latency_answers_and_timeline():
    out = io.StringIO()
    render_text(_worker_result(0), Console(file=out, width=120))
    text = out.getvalue()
    for expected in ("open: 50 req/s for 2 s", "latency p99.9", "success (2xx)", "503", "connection_reset", "Per second"):
        assert expected in text
