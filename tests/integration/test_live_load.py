"""`atctl load` against the live gateway: every reported field, and nothing refused."""

from __future__ import annotations

import json

import pytest
from _live import LiveStack
from typer.testing import CliRunner

from agentic_trading.cli.main import app

pytestmark = pytest.mark.integration


def test_a_short_open_model_run_reports_every_field_with_full_success(live: LiveStack):
    url = live.url("gateway") + "/webhook/tradingview"
    stored_before = live.stream_last_seq("SIGNALS")

    result = CliRunner().invoke(
        app,
        ["load", "--url", url, "--rate", "200", "--duration", "3", "--format", "json", "--threshold", "errors<0.1%"],
    )

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {"requests", "success_rate", "throughput_rps", "latency_ms", "status_codes", "timeline"} <= set(report)
    assert set(report["latency_ms"]) >= {"p50", "p90", "p95", "p99", "p999", "max"}
    assert report["requests"] == 600 and report["success_rate"] == 1.0
    assert report["status_codes"] == {"200": 600}
    # An open model never sends faster than offered; how close it comes depends on the machine
    # (measured in benchmarks/, not asserted here).
    assert 0 < report["throughput_rps"] <= 250
    assert len(report["timeline"]) >= 3 and sum(s["requests"] for s in report["timeline"]) == 600
    assert 0 < report["latency_ms"]["p50"] <= report["latency_ms"]["p99"] <= report["latency_ms"]["max"]
    # Each of them a distinct signal, stored.
    assert live.stream_last_seq("SIGNALS") - stored_before >= 600
