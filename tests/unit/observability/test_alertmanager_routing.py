"""The rendered Alertmanager config, run for real: which notifications reach the receiver.

amtool checks a route for one label set; nothing offline checks inhibitions. Here a real
Alertmanager (fast profile, own ports) gets a set of alerts, and the test reads what the
alert receiver is sent: each alert under the receiver of its severity, and nothing for an
alert another one inhibits. Takes about a second; no stack needed.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentic_trading.settings import Settings
from agentic_trading.stack.observability import alertmanager_command, render_observability

DEADLINE_S = 10.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Notifications:
    """What the stub alert receiver was sent: (receiver, alertname, service, status)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def keys(self) -> set[tuple[str, str, str, str]]:
        with self.lock:
            return {
                (body["receiver"], alert["labels"]["alertname"], alert["labels"].get("service", ""), alert["status"])
                for body in self.received
                for alert in body["alerts"]
            }


@pytest.fixture
def receiver() -> Iterator[tuple[int, _Notifications]]:
    notifications = _Notifications()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            assert self.path == "/alerts", f"Alertmanager posted to {self.path}"
            with notifications.lock:
                notifications.received.append(body)
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return  # keep pytest's output clean; every request is recorded above

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], notifications
    server.shutdown()
    server.server_close()


@pytest.fixture
def alertmanager(tmp_path: Path, receiver: tuple[int, _Notifications]) -> Iterator[str]:
    if shutil.which("prometheus-alertmanager") is None:
        pytest.fail("prometheus-alertmanager is not installed: apt-get install prometheus-alertmanager")
    settings = Settings(alertmanager_port=_free_port(), receiver_port=receiver[0])
    files = render_observability(settings, tmp_path / "config", profile="fast")
    log = (tmp_path / "alertmanager.log").open("w")
    process = subprocess.Popen(alertmanager_command(settings, files, tmp_path / "data"), stdout=log, stderr=log)
    url = settings.url("alertmanager")
    try:
        deadline = time.monotonic() + DEADLINE_S
        while True:
            try:
                if httpx.get(f"{url}/-/ready", timeout=0.5).status_code == 200:
                    break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"Alertmanager did not start: {(tmp_path / 'alertmanager.log').read_text()}")
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def _alert(name: str, severity: str, **labels: str) -> dict[str, Any]:
    return {"labels": {"alertname": name, "severity": severity, **labels}}


# Fire first: the alerts that inhibit others, and alerts nothing inhibits.
FIRST = [
    _alert("Watchdog", "none", service="prometheus"),
    _alert("GatewayDown", "critical", service="gateway", job="gateway"),
    _alert("AgentDown", "critical", service="agent-risk", job="agents"),
    _alert("NATSServerDown", "critical", service="nats-exporter", job="nats"),
    _alert("SomethingInformative", "info", service="receiver"),
]
# Then, while those fire: consequences (inhibited) and look-alikes (not inhibited).
THEN = [
    _alert("GatewayHighErrorRate", "warning", service="gateway", job="gateway"),  # inhibited
    _alert("GatewayHighLatency", "warning", service="gateway-canary", job="gateway"),  # other service
    _alert("TargetDown", "warning", service="agent-risk", job="agents"),  # inhibited: same job
    _alert("TargetDown", "warning", service="orchestrator", job="orchestrator"),
    _alert("AgentStalled", "warning", service="agent-risk", agent_type="risk"),  # inhibited
    _alert("AgentStalled", "warning", service="agent-momentum", agent_type="momentum"),
    _alert("NATSPublishFailure", "critical", service="gateway", job="gateway"),  # inhibited
    _alert("NATSConsumerLag", "warning", service="nats-exporter", job="nats", consumer="agent-risk"),  # inhibited
]
FIRST_DELIVERED = {
    ("watchdog", "Watchdog", "prometheus", "firing"),
    ("critical", "GatewayDown", "gateway", "firing"),
    ("critical", "AgentDown", "agent-risk", "firing"),
    ("critical", "NATSServerDown", "nats-exporter", "firing"),
    ("info", "SomethingInformative", "receiver", "firing"),
}
DELIVERED = FIRST_DELIVERED | {
    ("warning", "GatewayHighLatency", "gateway-canary", "firing"),
    ("warning", "TargetDown", "orchestrator", "firing"),
    ("warning", "AgentStalled", "agent-momentum", "firing"),
}


def _wait_for(notifications: _Notifications, expected: set[tuple[str, str, str, str]]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not expected <= notifications.keys():
        if time.monotonic() > deadline:
            pytest.fail(f"not notified within {DEADLINE_S} s: {sorted(expected - notifications.keys())}")
        time.sleep(0.05)


def test_alerts_reach_the_receiver_by_severity_except_inhibited_ones(
    alertmanager: str, receiver: tuple[int, _Notifications]
) -> None:
    _, notifications = receiver
    httpx.post(f"{alertmanager}/api/v2/alerts", json=FIRST, timeout=5).raise_for_status()
    _wait_for(notifications, FIRST_DELIVERED)
    httpx.post(f"{alertmanager}/api/v2/alerts", json=THEN, timeout=5).raise_for_status()
    _wait_for(notifications, DELIVERED)

    # group_wait is 0s: the inhibited alerts were due in the same flush as the others.
    # Alertmanager's own view says why they stayed silent.
    state = httpx.get(f"{alertmanager}/api/v2/alerts", timeout=5).json()
    suppressed = {(a["labels"]["alertname"], a["labels"]["service"]) for a in state if a["status"]["inhibitedBy"]}
    assert suppressed == {
        ("GatewayHighErrorRate", "gateway"),
        ("TargetDown", "agent-risk"),
        ("AgentStalled", "agent-risk"),
        ("NATSPublishFailure", "gateway"),
        ("NATSConsumerLag", "nats-exporter"),
    }
    assert notifications.keys() == DELIVERED, "an inhibited alert was notified"


def test_consumers_that_start_lagging_seconds_apart_are_one_notification(
    alertmanager: str, receiver: tuple[int, _Notifications]
) -> None:
    """A load fills the six queues a few seconds apart: the receiver hears of it once, not once per consumer."""
    _, notifications = receiver
    consumers = ["agent-risk", "agent-momentum", "agent-sentiment", "orchestrator"]
    lagging: list[dict[str, Any]] = []
    for consumer in consumers:  # one more consumer a second, as Prometheus re-sends what fires
        lagging.append(_alert("NATSConsumerLag", "warning", service="nats", job="nats", consumer=consumer))
        httpx.post(f"{alertmanager}/api/v2/alerts", json=lagging, timeout=5).raise_for_status()
        time.sleep(1.0)
    deadline = time.monotonic() + DEADLINE_S
    while not notifications.received:
        if time.monotonic() > deadline:
            pytest.fail(f"NATSConsumerLag not notified within {DEADLINE_S} s")
        time.sleep(0.05)
    with notifications.lock:
        bodies = list(notifications.received)
    # Under the old 0s/1s timings the first consumer was notified alone, then each one joining.
    assert len(bodies) == 1, f"{len(bodies)} notifications for one incident"
    assert sorted(a["labels"]["consumer"] for a in bodies[0]["alerts"]) == sorted(consumers)
    assert {a["status"] for a in bodies[0]["alerts"]} == {"firing"}
