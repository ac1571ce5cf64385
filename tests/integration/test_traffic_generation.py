"""`atctl generate` against the live stack, and the alert its error traffic must raise."""

from __future__ import annotations

import json
import time

import pytest
from _live import LiveStack
from typer.testing import CliRunner

from _support import eventually
from agentic_trading.cli.main import app

pytestmark = pytest.mark.integration

runner = CliRunner()


def _generate(live: LiveStack, *args: str) -> tuple[int, dict]:
    result = runner.invoke(app, ["generate", *args, "--gateway-url", live.url("gateway"), "--format", "json", "--seed", "5"])
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip().startswith("{") else {}


def test_the_specification_burst_is_accepted_whole_on_the_paper_endpoint(live: LiveStack):
    """Traffic tools send to /webhook/test unless told otherwise: the live endpoint sees none of it."""

    def accepted(endpoint: str) -> float:
        return live.metric_sample("gateway", "gateway_webhooks_total", endpoint=endpoint, status="200")

    def canary_sent() -> float:
        return live.metric_sample("canary", "canary_signals_sent_total")

    test_before, live_before, canary_before = accepted("test"), accepted("tradingview"), canary_sent()
    code, report = _generate(live, "burst", "--threads", "20", "--per-thread", "10")
    assert code == 0, report
    assert report["accepted"] == 200 and report["statuses"] == {"200": 200}
    assert report["gateway_url"].endswith("/webhook/test")
    # The supervised canary posts to /webhook/test too: its own signals are counted apart.
    assert accepted("test") - test_before - (canary_sent() - canary_before) == 200
    assert accepted("tradingview") == live_before


def test_error_traffic_is_refused_counted_and_raises_gateway_high_error_rate(live: LiveStack):
    errors_before = live.metric_sample("gateway", "gateway_validation_errors_total")
    started = time.time()

    code, report = _generate(live, "errors", "--count", "60", "--error-rate", "0.5", "--interval", "0")

    assert code == 0, report
    refused = report["statuses"].get("422", 0)
    assert refused > 10 and refused + report["accepted"] == 60
    assert live.metric_sample("gateway", "gateway_validation_errors_total") - errors_before == refused

    firing, fired_in = eventually(
        lambda: [n for n in live.notifications(alertname="GatewayHighErrorRate", status="firing", since=started)],
        timeout_s=15,
        interval_s=0.2,
        what=f"GatewayHighErrorRate firing at the receiver (all: {live.notifications()})",
    )
    assert "refused as invalid" in firing[0]["annotations"]["description"]
    print(f"GatewayHighErrorRate at the receiver {fired_in:.1f} s after the error traffic")
    # Leave a healthy stack behind: the alert resolves once the errors leave the rate window.
    _, resolved_in = eventually(
        lambda: live.notifications(alertname="GatewayHighErrorRate", status="resolved", since=started),
        timeout_s=60,
        interval_s=0.5,
        what="GatewayHighErrorRate resolved",
    )
    print(f"resolved {resolved_in:.1f} s later")
