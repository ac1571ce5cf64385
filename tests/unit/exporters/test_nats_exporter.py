"""The NATS exporter: fresh figures per scrape, nothing stale, valid exposition, against a real nats-server too."""

import json
import time

import httpx
import nats
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from _support import poll_until
from agentic_trading.exporters.nats import NatsCollector, NatsMonitorPoller

METRIC_NAMES = {
    "nats_consumer_pending_messages",
    "nats_consumer_ack_pending_messages",
    "nats_consumer_redelivered_messages",  # the parser drops _total from counter family names
    "nats_stream_messages",
    "nats_stream_bytes",
    "nats_stream_max_bytes",
    "nats_server_up",
    "nats_server_connections",
    "nats_exporter_scrape_errors",
}


def samples(exposition: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(exposition.decode())
        for s in family.samples
    }


def scrape(poller: NatsMonitorPoller) -> bytes:
    registry = CollectorRegistry()
    registry.register(NatsCollector(poller))
    return generate_latest(registry)


class FakeMonitor:
    """Answers /jsz and /varz from the captured fixtures, or fails like a stopped server."""

    def __init__(self, jsz, varz):
        self.jsz, self.varz, self.down = jsz, varz, False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        body = self.jsz if request.url.path == "/jsz" else self.varz
        return httpx.Response(200, content=json.dumps(body).encode())


@pytest.fixture
def monitor(load_fixture):
    return FakeMonitor(load_fixture("jsz_streams_consumers.json"), load_fixture("varz.json"))


@pytest.fixture
async def poller(monitor):
    async with httpx.AsyncClient(transport=httpx.MockTransport(monitor)) as client:
        yield NatsMonitorPoller("http://nats-monitor:8222", client)


async def test_every_contract_metric_is_exposed_with_the_servers_figures(poller, promtool_check):
    await poller.poll_once()
    exposition = scrape(poller)

    names = {f.name for f in text_string_to_metric_families(exposition.decode())}
    assert names == METRIC_NAMES
    got = samples(exposition)
    momentum = (("consumer", "agent-momentum"), ("stream", "SIGNALS"))
    assert got[("nats_consumer_pending_messages", momentum)] == 3
    assert got[("nats_consumer_ack_pending_messages", momentum)] == 1
    assert got[("nats_consumer_redelivered_messages_total", momentum)] == 1
    assert got[("nats_stream_messages", (("stream", "SIGNALS"),))] == 5
    assert got[("nats_stream_bytes", (("stream", "SIGNALS"),))] == 255
    assert got[("nats_server_connections", ())] == 2
    assert got[("nats_server_up", ())] == 1
    assert got[("nats_exporter_scrape_errors_total", ())] == 0
    promtool_check(exposition)


async def test_a_streams_max_bytes_is_exposed_for_the_fullness_alert_and_absent_when_unlimited(poller, monitor):
    details = monitor.jsz["account_details"][0]["stream_detail"]
    details[0].setdefault("config", {})["max_bytes"] = 268435456
    for detail in details[1:]:
        detail.setdefault("config", {})["max_bytes"] = -1
    await poller.poll_once()
    got = samples(scrape(poller))
    limits = {key[1]: value for key, value in got.items() if key[0] == "nats_stream_max_bytes"}
    assert limits == {(("stream", details[0]["name"]),): 268435456}


async def test_while_nats_is_down_it_says_so_and_serves_no_old_figures(poller, monitor, promtool_check):
    await poller.poll_once()
    monitor.down = True
    await poller.poll_once()
    exposition = scrape(poller)

    got = samples(exposition)
    assert got[("nats_server_up", ())] == 0
    assert got[("nats_exporter_scrape_errors_total", ())] == 1
    assert not [key for key in got if key[0].startswith(("nats_consumer_", "nats_stream_"))]
    assert "connection refused" in (await poller.readiness() or "")
    promtool_check(exposition)

    monitor.down = False
    await poller.poll_once()
    assert samples(scrape(poller))[("nats_server_up", ())] == 1


async def test_a_snapshot_older_than_the_staleness_limit_is_not_served(poller):
    await poller.poll_once()
    poller.latest = type(poller.latest)(poller.latest.value, taken_at=time.monotonic() - 60)

    got = samples(scrape(poller))
    assert got[("nats_server_up", ())] == 0
    assert ("nats_stream_messages", (("stream", "SIGNALS"),)) not in got


async def test_a_monitor_answering_garbage_counts_as_a_failed_poll(monitor, poller):
    monitor.jsz = {"account_details": "not a list"}
    await poller.poll_once()
    assert poller.scrape_errors == 1
    assert "account_details" in (await poller.readiness() or "")


async def test_a_real_consumers_pending_count_shows_up(nats_server):
    nc = await nats.connect(nats_server.url)
    try:
        js = nc.jetstream()
        await js.add_stream(name="EXPORTER_TEST", subjects=["exporter-test.>"])
        await js.add_consumer("EXPORTER_TEST", durable_name="slow-reader")
        for i in range(3):
            await js.publish("exporter-test.tick", str(i).encode())
    finally:
        await nc.close()

    async with httpx.AsyncClient(timeout=1.0) as client:
        poller = NatsMonitorPoller(nats_server.monitor_url, client)
        await poller.poll_once()
    got = samples(scrape(poller))

    assert got[("nats_server_up", ())] == 1
    assert got[("nats_consumer_pending_messages", (("consumer", "slow-reader"), ("stream", "EXPORTER_TEST")))] == 3
    assert got[("nats_stream_messages", (("stream", "EXPORTER_TEST"),))] == 3


def test_the_service_serves_valid_metrics_from_a_real_server(nats_server, run_module, promtool_check):
    service = run_module("agentic_trading.exporters.nats", "AT_NATS_EXPORTER_PORT", "--monitor-url", nats_server.monitor_url)

    exposition = poll_until(
        lambda: (body := httpx.get(f"{service.url}/metrics").content) and b"nats_server_up 1.0" in body and body
    )
    promtool_check(exposition)
    assert httpx.get(f"{service.url}/readyz").json()["ready"] is True

    service.process.terminate()
    assert service.process.wait(timeout=10) == 0, service.log_path.read_text()
    assert '"event":"service_stopped"' in service.log_path.read_text()
