"""The receiver over HTTP: Alertmanager's POSTs kept and counted, queried back, bad bodies refused; a real Alertmanager too."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest
from structlog.testing import capture_logs

from _support import free_port, poll_until, required_binary
from agentic_trading.receiver.app import build_app
from agentic_trading.receiver.store import NotificationStore
from agentic_trading.telemetry.metrics import ReceiverMetrics


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock(1_800_000_000.0)


@pytest.fixture
def metrics():
    return ReceiverMetrics()


@pytest.fixture
def store(tmp_path):
    store = NotificationStore(tmp_path / "receiver" / "notifications.jsonl")
    store.load()
    yield store
    store.close()


@pytest.fixture
async def client(store, metrics, clock):
    transport = httpx.ASGITransport(app=build_app(store, metrics, clock=clock))
    async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as c:
        yield c


def received(metrics, alertname, status):
    return (
        metrics.registry.get_sample_value("alert_notifications_received_total", {"alertname": alertname, "status": status}) or 0
    )


async def test_a_firing_and_a_resolved_notification_are_kept_and_counted(client, metrics, clock, webhook_body):
    with capture_logs() as logs:
        firing = await client.post("/alerts", content=webhook_body("firing"))
        clock.now += 2
        resolved = await client.post("/alerts", content=webhook_body("resolved"))

    assert (firing.status_code, firing.json()) == (200, {"received": 1})
    assert resolved.status_code == 200
    kept = (await client.get("/notifications")).json()["notifications"]
    assert [(n["alertname"], n["status"], n["received_at"]) for n in kept] == [
        ("GatewayDown", "firing", 1_800_000_000.0),
        ("GatewayDown", "resolved", 1_800_000_002.0),
    ]
    assert kept[0]["startsAt"] == kept[1]["startsAt"] and kept[0]["labels"]["severity"] == "critical"
    assert received(metrics, "GatewayDown", "firing") == 1 and received(metrics, "GatewayDown", "resolved") == 1
    events = [(e["event"], e["alertname"], e["status"]) for e in logs if e["event"] == "alert_received"]
    assert events == [("alert_received", "GatewayDown", "firing"), ("alert_received", "GatewayDown", "resolved")]


async def test_notifications_filter_by_alertname_status_and_since(client, clock):
    for alertname, status in [("GatewayDown", "firing"), ("NATSPublishFailure", "firing"), ("GatewayDown", "resolved")]:
        body = {"alerts": [{"status": status, "labels": {"alertname": alertname}, "startsAt": "2026-01-01T00:00:00Z"}]}
        assert (await client.post("/alerts", json=body)).status_code == 200
        clock.now += 10

    async def found(query):
        response = await client.get(f"/notifications?{query}")
        assert response.status_code == 200
        return [(n["alertname"], n["status"]) for n in response.json()["notifications"]]

    assert await found("alertname=GatewayDown") == [("GatewayDown", "firing"), ("GatewayDown", "resolved")]
    assert await found("status=firing") == [("GatewayDown", "firing"), ("NATSPublishFailure", "firing")]
    assert await found("since=1800000010") == [("NATSPublishFailure", "firing"), ("GatewayDown", "resolved")]
    assert await found("alertname=GatewayDown&status=firing&since=1800000005") == []


@pytest.mark.parametrize(
    ("query", "field"), [("since=yesterday", "since"), ("status=pending", "status"), ("alert=GatewayDown", "alert")]
)
async def test_a_bad_query_is_400_naming_the_parameter(client, query, field):
    response = await client.get(f"/notifications?{query}")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field


async def test_a_malformed_post_is_400_naming_the_field_and_nothing_is_kept(client, metrics):
    body = {"version": "4", "alerts": [{"status": "firing", "labels": {"severity": "page"}, "startsAt": "x"}]}
    response = await client.post("/alerts", json=body)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_payload"
    assert response.json()["errors"][0]["field"] == "alerts[0].labels.alertname"
    assert (await client.get("/notifications")).json() == {"notifications": []}
    assert (await client.post("/alerts", content=b"{")).json()["errors"][0]["field"] == "body"


async def test_an_oversized_post_is_413(client):
    response = await client.post("/alerts", content=b" " * (1024 * 1024 + 1))
    assert response.status_code == 413


async def test_health_and_metrics_pass_promtool(client, webhook_body, promtool_check):
    await client.post("/alerts", content=webhook_body("firing"))
    assert (await client.get("/healthz")).json() == {"status": "ok", "service": "receiver"}
    metrics = await client.get("/metrics")
    assert 'alert_notifications_received_total{alertname="GatewayDown",status="firing"} 1.0' in metrics.text
    promtool_check(metrics.content)


def _poll(check, what):
    return poll_until(check, what=what, not_yet=(httpx.TransportError,))


def test_a_real_alertmanager_reaches_the_receiver_which_keeps_it_across_a_restart(tmp_path):
    binary = required_binary("prometheus-alertmanager", "alertmanager", package="prometheus-alertmanager")
    receiver_port, am_port = free_port(), free_port()
    receiver_url, am_url = f"http://127.0.0.1:{receiver_port}", f"http://127.0.0.1:{am_port}"
    (tmp_path / "alertmanager.yml").write_text(
        json.dumps(
            {
                "route": {"receiver": "at", "group_by": ["alertname"], "group_wait": "0s", "group_interval": "1s"},
                "receivers": [{"name": "at", "webhook_configs": [{"url": f"{receiver_url}/alerts", "send_resolved": True}]}],
            }
        )
    )
    env = {**os.environ, "AT_PORT_OFFSET": "0", "AT_RECEIVER_PORT": str(receiver_port), "AT_STATE_DIR": str(tmp_path)}

    def start_receiver():
        return subprocess.Popen([sys.executable, "-m", "agentic_trading.receiver"], env=env, stdout=subprocess.DEVNULL)

    def notifications():
        return httpx.get(f"{receiver_url}/notifications?alertname=ReceiverE2E", timeout=1).json()["notifications"]

    receiver = start_receiver()
    alertmanager = subprocess.Popen(
        [
            binary,
            f"--config.file={tmp_path / 'alertmanager.yml'}",
            f"--web.listen-address=127.0.0.1:{am_port}",
            "--cluster.listen-address=",
            f"--storage.path={tmp_path / 'am'}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _poll(lambda: httpx.get(f"{am_url}/-/ready", timeout=1).status_code == 200, "Alertmanager ready")
        _poll(lambda: httpx.get(f"{receiver_url}/healthz", timeout=1).status_code == 200, "the receiver healthy")
        now = datetime.now(UTC)
        alert = {
            "labels": {"alertname": "ReceiverE2E", "severity": "warning"},
            "startsAt": now.isoformat(),
            "endsAt": (now + timedelta(seconds=1)).isoformat(),
        }
        assert httpx.post(
            f"{am_url}/api/v2/alerts", content=orjson.dumps([alert]), headers={"content-type": "application/json"}
        ).is_success

        kept = _poll(lambda: (found := notifications()) and len(found) == 2 and found, "firing and resolved notifications")
        assert [n["status"] for n in kept] == ["firing", "resolved"]

        receiver.terminate()
        assert receiver.wait(timeout=10) == 0
        receiver = start_receiver()
        assert _poll(notifications, "the notifications after a restart") == kept
    finally:
        for proc in (receiver, alertmanager):
            proc.terminate()
            proc.wait(timeout=10)


async def test_with_a_password_only_alertmanagers_basic_auth_may_post_alerts(store, metrics, clock, webhook_body):
    transport = httpx.ASGITransport(app=build_app(store, metrics, clock=clock, password="s3cret-for-the-test"))
    async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as client:
        anonymous = await client.post("/alerts", content=webhook_body("firing"))
        wrong = await client.post("/alerts", content=webhook_body("firing"), auth=("alertmanager", "guess"))
        right = await client.post("/alerts", content=webhook_body("firing"), auth=("alertmanager", "s3cret-for-the-test"))
        kept = (await client.get("/notifications")).json()["notifications"]
    assert anonymous.status_code == wrong.status_code == 401
    assert anonymous.json()["errors"][0]["field"] == "Authorization"
    assert right.status_code == 200 and len(kept) == 1
