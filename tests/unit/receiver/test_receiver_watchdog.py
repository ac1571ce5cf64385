"""The dead man's switch watcher: the receiver notices the Watchdog missing, without Alertmanager."""

from __future__ import annotations

import httpx
import orjson
import pytest
from structlog.testing import capture_logs

from agentic_trading.receiver.app import build_app, check_watchdog
from agentic_trading.receiver.store import NotificationStore
from agentic_trading.receiver.watchdog import WatchdogWatch
from agentic_trading.telemetry.metrics import ReceiverMetrics

T0 = 1_800_000_000.0


def watchdog_body() -> bytes:
    alert = {
        "status": "firing",
        "labels": {"alertname": "Watchdog", "severity": "none"},
        "annotations": {},
        "startsAt": "2027-01-15T08:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
    }
    return orjson.dumps({"version": "4", "receiver": "watchdog", "status": "firing", "alerts": [alert]})


def test_missing_after_three_learned_intervals_and_back_on_the_next_notification() -> None:
    watch = WatchdogWatch(started_at=T0, default_interval_s=60)
    for second in (0, 5, 10, 15):  # the fast profile's pace: every 5 s
        watch.received(T0 + second)
    assert watch.interval_s() == 5
    assert watch.check(T0 + 29) is False and not watch.missing
    assert watch.check(T0 + 31) is True and watch.missing  # 16 s silent > 3 x 5 s
    assert watch.check(T0 + 40) is False and watch.missing  # reported once, still missing
    assert watch.status(T0 + 40)["state"] == "missing"
    assert watch.received(T0 + 75) is True and not watch.missing
    assert watch.interval_s() == 5, "the outage's 60 s gap must not become the pace"


def test_before_any_notification_it_waits_the_default_pace_from_start() -> None:
    watch = WatchdogWatch(started_at=T0, default_interval_s=60)
    assert watch.status(T0 + 10)["state"] == "waiting"
    assert watch.check(T0 + 179) is False
    assert watch.check(T0 + 181) is True


def test_a_burst_of_notifications_does_not_shrink_the_pace() -> None:
    watch = WatchdogWatch(started_at=T0, default_interval_s=60)
    for at in (0, 0.2, 0.4, 60, 60.1):
        watch.received(T0 + at)
    assert watch.interval_s() == pytest.approx(59.6)


async def test_the_app_records_watchdogs_serves_the_state_and_logs_and_counts_an_outage(tmp_path) -> None:
    now = [T0]
    store = NotificationStore(tmp_path / "n.jsonl")
    store.load()
    metrics = ReceiverMetrics()
    watch = WatchdogWatch(started_at=T0, default_interval_s=2)
    app = build_app(store, metrics, clock=lambda: now[0], watchdog=watch)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://r") as client:
        for _ in range(3):
            assert (await client.post("/alerts", content=watchdog_body())).status_code == 200
            now[0] += 2
        assert metrics.registry.get_sample_value("receiver_watchdog_last_received_timestamp_seconds") == T0 + 4
        with capture_logs() as logs:
            check_watchdog(watch, metrics, now[0] + 10)
            check_watchdog(watch, metrics, now[0] + 11)
        assert [entry["event"] for entry in logs] == ["watchdog_missing"]
        assert logs[0]["log_level"] == "error"
        assert metrics.registry.get_sample_value("receiver_watchdog_missing") == 1
        now[0] += 10
        state = (await client.get("/watchdog")).json()
        assert state["state"] == "missing" and state["expected_interval_s"] == 2
        assert state["silent_for_s"] == pytest.approx(12)
        with capture_logs() as logs:
            await client.post("/alerts", content=watchdog_body())
        assert "watchdog_back" in [entry["event"] for entry in logs]
        assert metrics.registry.get_sample_value("receiver_watchdog_missing") == 0
        assert (await client.get("/watchdog")).json()["state"] == "ok"
    store.close()
