"""The gateway's answers without a bus: refusals name the field, and nothing is claimed stored."""

import httpx
import pytest

from agentic_trading.gateway.app import Gateway
from agentic_trading.settings import Settings


@pytest.fixture
def gateway():
    return Gateway(Settings(port_offset=45000))


@pytest.fixture
async def client(gateway):
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as c:
        yield c


def _sample(gateway, name, **labels):
    value = gateway.metrics.registry.get_sample_value(name, labels)
    return value or 0.0


async def test_malformed_payload_gets_422_naming_fields_and_is_counted(client, gateway):
    response = await client.post("/webhook/tradingview", json={"confidence": "not_a_number"})
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"instrument", "action", "confidence"}
    assert _sample(gateway, "gateway_validation_errors_total", reason="missing_field") == 1
    assert _sample(gateway, "gateway_webhooks_total", endpoint="tradingview", status="422") == 1


async def test_text_plain_json_is_parsed_and_non_json_is_400(client):
    bad = await client.post("/webhook/tradingview", content=b"buy EURUSD", headers={"content-type": "text/plain"})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "body"
    plain = await client.post("/webhook/test", content=b'{"instrument": 5}', headers={"content-type": "text/plain"})
    assert plain.status_code == 422


async def test_oversized_body_is_413(client):
    response = await client.post("/webhook/tradingview", content=b"x" * (64 * 1024 + 1))
    assert response.status_code == 413
    assert response.json()["errors"][0]["reason"] == "body_too_large"


async def test_without_nats_a_valid_signal_is_503_with_retry_after(client, gateway):
    response = await client.post(
        "/webhook/tradingview", json={"instrument": "EURUSD", "action": "buy"}, headers={"X-Correlation-ID": "cid-1"}
    )
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.headers["x-correlation-id"] == "cid-1"
    assert _sample(gateway, "gateway_nats_publish_failures_total") == 1


async def test_health_metrics_and_openapi(client):
    assert (await client.get("/healthz")).json()["status"] == "ok"
    metrics = (await client.get("/metrics")).text
    assert "gateway_processing_duration_seconds_bucket" in metrics
    document = (await client.get("/openapi.json")).json()
    assert set(document["paths"]) >= {"/webhook/tradingview", "/webhook/test", "/healthz", "/readyz", "/metrics"}
    assert (await client.get("/webhook/tradingview")).status_code == 405
