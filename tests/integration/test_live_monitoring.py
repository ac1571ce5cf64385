"""Monitoring of the live stack: targets, the metric contract, exposition format, the Watchdog path."""

from __future__ import annotations

import subprocess
import time

import pytest
import yaml
from _live import LiveStack

from _support import eventually
from agentic_trading.stack.observability import default_source_dir

pytestmark = pytest.mark.integration

SERVICES_WITH_METRICS = (
    "gateway",
    "agent-momentum",
    "agent-risk",
    "agent-sentiment",
    "agent-correlation",
    "orchestrator",
    "receiver",
    "nats-exporter",
    "process-exporter",
)
PERCENT_GAUGES = ("redis_memory_usage_percent", "container_cpu_usage_percent")


def _contract_metrics() -> dict[str, dict]:
    catalog = yaml.safe_load((default_source_dir() / "metrics.yaml").read_text())["metrics"]
    return {name: spec for name, spec in catalog.items() if spec.get("contract")}


def test_every_prometheus_target_is_up_within_30_s(live: LiveStack):
    def all_up():
        targets = live.http.get(live.url("prometheus") + "/api/v1/targets").json()["data"]["activeTargets"]
        down = [(t["labels"]["job"], t["scrapeUrl"], t["health"]) for t in targets if t["health"] != "up"]
        return (len(targets), down) if targets and not down else None

    (count, _), waited = eventually(all_up, timeout_s=30, interval_s=0.25, what="every Prometheus target up")
    jobs = {r["metric"]["job"] for r in live.query("up")}
    assert jobs >= {"gateway", "agents", "orchestrator", "receiver", "nats", "redis", "processes", "prometheus", "alertmanager"}
    print(f"{count} targets up ({waited:.1f} s after the check started)")


def test_every_contract_metric_has_series_and_percent_gauges_stay_in_range(live: LiveStack):
    contract = _contract_metrics()
    assert len(contract) >= 13

    def series_of(name: str, spec: dict) -> int:
        selector = f"{name}_bucket" if spec["type"] == "histogram" else name
        return len(live.query(selector))

    def missing_now() -> list[str]:
        return [name for name, spec in contract.items() if series_of(name, spec) == 0]

    eventually(lambda: not missing_now(), timeout_s=30, interval_s=0.5, what=f"series for {missing_now()}")
    for gauge in PERCENT_GAUGES:
        values = [float(r["value"][1]) for r in live.query(gauge)]
        assert values, gauge
        assert all(0.0 <= v <= 100.0 for v in values), (gauge, values)
    confidences = [float(r["value"][1]) for r in live.query("agent_confidence_score")]
    assert confidences and all(0.0 <= v <= 1.0 for v in confidences)


@pytest.mark.parametrize("component", SERVICES_WITH_METRICS)
def test_promtool_check_metrics_finds_no_problem(live: LiveStack, component: str):
    exposition = live.http.get(live.url(component) + "/metrics").text
    result = subprocess.run(["promtool", "check", "metrics"], input=exposition, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and not result.stdout.strip() and not result.stderr.strip(), (
        f"{component}: {result.stdout}{result.stderr}"
    )


def test_the_watchdog_notification_reaches_the_receiver_within_30_s_of_up(live: LiveStack):
    started = time.monotonic()
    notifications, _ = eventually(
        lambda: live.notifications(alertname="Watchdog", status="firing"),
        timeout_s=30,
        interval_s=0.25,
        what="a firing Watchdog notification at the alert receiver",
    )
    assert notifications[0]["labels"]["alertname"] == "Watchdog"
    print(f"Watchdog at the receiver ({time.monotonic() - started:.1f} s after this test began)")


def test_alertmanager_is_connected_and_no_alert_but_the_watchdog_fires_on_a_healthy_stack(live: LiveStack):
    active = live.http.get(live.url("prometheus") + "/api/v1/alertmanagers").json()["data"]["activeAlertmanagers"]
    assert active, "Prometheus knows no Alertmanager"

    def only_watchdog():
        firing = {r["metric"]["alertname"] for r in live.query('ALERTS{alertstate="firing"}')}
        return firing == {"Watchdog"} and firing

    eventually(only_watchdog, timeout_s=30, interval_s=0.5, what="only the Watchdog firing")
