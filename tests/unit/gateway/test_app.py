"""The gateway's answers: refusals name the field, and nothing refused is ever published.

The first tests run without a bus at all; the rest against an in-memory JetStream stand-in
(``conftest.py``) that records every publish.
"""

import asyncio
import time
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest

from _support import async_poll_until
from agentic_trading.gateway.app import Gateway
from agentic_trading.gateway.auth import WebhookAuthenticator
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


async def test_a_gateway_still_connecting_answers_503_and_counts_no_failed_publish(client, gateway):
    """A restarted gateway serves before its NATS connection is up: no publish was attempted,
    so NATSPublishFailure must not page for a planned restart under traffic; /readyz says why."""
    response = await client.post(
        "/webhook/tradingview", json={"instrument": "EURUSD", "action": "buy"}, headers={"X-Correlation-ID": "cid-1"}
    )
    assert response.status_code == 503
    assert response.json()["error"] == "bus_unavailable"
    assert "still connecting" in response.json()["message"]
    assert response.headers["retry-after"] == "1"
    assert response.headers["x-correlation-id"] == "cid-1"
    assert _sample(gateway, "gateway_nats_publish_failures_total") == 0
    assert _sample(gateway, "gateway_webhooks_total", endpoint="tradingview", status="503") == 1
    ready = await client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["nats"].startswith("not connected")


async def test_a_gateway_that_lost_its_nats_connection_counts_a_failed_publish(make_gateway, client_for):
    gateway, _ = make_gateway()
    gateway.nc.is_connected = False  # connected once, then NATS went away (outage or partition)
    response = await client_for(gateway).post("/webhook/tradingview", json={"instrument": "EURUSD", "action": "buy"})
    assert response.status_code == 503
    assert response.json()["error"] == "bus_unavailable"
    assert _sample(gateway, "gateway_nats_publish_failures_total") == 1


async def test_health_metrics_and_openapi(client):
    assert (await client.get("/healthz")).json()["status"] == "ok"
    metrics = (await client.get("/metrics")).text
    assert "gateway_processing_duration_seconds_bucket" in metrics
    document = (await client.get("/openapi.json")).json()
    assert set(document["paths"]) >= {"/webhook/tradingview", "/webhook/test", "/healthz", "/readyz", "/metrics"}
    assert (await client.get("/webhook/tradingview")).status_code == 405


# -- with a (fake) JetStream: what is published, and what never is -----------------------------

SECRET = "unit-test-secret-6d2f0c1e9a"
TRADINGVIEW = ["52.89.214.238", "34.212.75.30", "54.218.53.128", "52.32.178.7"]


def _now_iso(shift_s: float = 0.0) -> str:
    return (datetime.now(UTC) + timedelta(seconds=shift_s)).isoformat().replace("+00:00", "Z")


def _signal(**extra):
    return {"instrument": "EURUSD", "action": "buy", "price": 1.085, "confidence": 0.8, "timestamp": _now_iso(), **extra}


async def test_with_a_secret_missing_or_wrong_is_401_naming_the_field_and_nothing_is_published(make_gateway, client_for):
    gateway, js = make_gateway(webhook_secret=SECRET)
    client = client_for(gateway)

    missing = await client.post("/webhook/tradingview", json=_signal())
    wrong = await client.post("/webhook/tradingview", json=_signal(secret="not-it"))
    not_a_string = await client.post("/webhook/test", json=_signal(secret=12345))
    not_json = await client.post("/webhook/tradingview", content=b"BUY EURUSD")

    for response, reason in ((missing, "missing"), (wrong, "wrong"), (not_a_string, "wrong"), (not_json, "missing")):
        assert response.status_code == 401, response.text
        body = response.json()
        assert body["error"] == "unauthorized"
        assert body["errors"][0]["field"] == "secret" and body["errors"][0]["reason"] == reason
        assert "www-authenticate" in response.headers
        assert SECRET not in response.text
    assert js.published == []
    assert _sample(gateway, "gateway_auth_failures_total", reason="missing") == 2
    assert _sample(gateway, "gateway_auth_failures_total", reason="wrong") == 2
    assert _sample(gateway, "gateway_webhooks_total", endpoint="tradingview", status="401") == 3
    assert _sample(gateway, "gateway_validation_errors_total", reason="invalid_json") == 0


async def test_the_right_secret_is_accepted_and_never_published(make_gateway, client_for):
    gateway, js = make_gateway(webhook_secret=SECRET)
    response = await client_for(gateway).post("/webhook/tradingview", json=_signal(secret=SECRET))

    assert response.status_code == 200, response.text
    [(subject, data, headers)] = js.published
    assert SECRET.encode() not in data and SECRET not in str(headers)
    assert "secret" not in orjson.loads(data)
    # The secret is not part of the signal's identity either: the same alert without it has the same id.
    open_gateway, _ = make_gateway()
    payload = _signal(secret=SECRET)
    with_secret = await client_for(gateway).post("/webhook/test", json=payload)
    without = await client_for(open_gateway).post("/webhook/test", json={k: v for k, v in payload.items() if k != "secret"})
    assert with_secret.json()["signal_id"] == without.json()["signal_id"]


async def test_a_valid_hmac_is_accepted_and_an_altered_body_with_it_is_401(make_gateway, client_for):
    gateway, js = make_gateway(webhook_secret=SECRET)
    client = client_for(gateway)
    body = orjson.dumps(_signal())
    signature = WebhookAuthenticator(SECRET).sign(body)

    good = await client.post("/webhook/tradingview", content=body, headers={"X-Signature": signature})
    upper = await client.post("/webhook/tradingview", content=body, headers={"X-Signature": signature.upper()})
    altered = body.replace(b'"buy"', b'"sell"')
    tampered = await client.post("/webhook/tradingview", content=altered, headers={"X-Signature": signature})
    malformed = await client.post("/webhook/tradingview", content=body, headers={"X-Signature": "md5=abc"})
    # A signature that is present must be right, even when the body also carries the secret.
    both = await client.post(
        "/webhook/tradingview", content=orjson.dumps(_signal(secret=SECRET)), headers={"X-Signature": signature}
    )

    assert good.status_code == 200 and upper.status_code == 200
    for response in (tampered, malformed, both):
        assert response.status_code == 401
        [error] = response.json()["errors"]
        assert (error["field"], error["reason"]) == ("X-Signature", "bad_signature")
    assert len(js.published) == 1  # the two good requests are one signal (same body, same id)
    assert _sample(gateway, "gateway_auth_failures_total", reason="bad_signature") == 3


async def test_without_a_secret_a_secret_field_is_ignored_and_still_not_published(make_gateway, client_for):
    gateway, js = make_gateway()
    response = await client_for(gateway).post("/webhook/tradingview", json=_signal(secret="whatever-was-sent"))
    assert response.status_code == 200
    assert b"whatever-was-sent" not in js.published[0][1]


async def test_allowed_sources_refuse_other_addresses_with_403(make_gateway, client_for):
    gateway, js = make_gateway(allowed_sources=",".join(TRADINGVIEW))
    tradingview = client_for(gateway, client=("52.89.214.238", 40000))
    stranger = client_for(gateway, client=("203.0.113.9", 40000))
    mapped = client_for(gateway, client=("::ffff:34.212.75.30", 40000))

    assert (await tradingview.post("/webhook/tradingview", json=_signal())).status_code == 200
    assert (await mapped.post("/webhook/tradingview", json=_signal(strategy="v6"))).status_code == 200
    refused = await stranger.post("/webhook/tradingview", json=_signal(strategy="x"))
    # Without AT_TRUST_PROXY, X-Forwarded-For is the client's word and means nothing.
    forged = await stranger.post("/webhook/tradingview", json=_signal(strategy="y"), headers={"X-Forwarded-For": "52.89.214.238"})

    for response in (refused, forged):
        assert response.status_code == 403
        assert response.json()["errors"][0]["field"] == "source" and "203.0.113.9" in response.json()["errors"][0]["message"]
    assert len(js.published) == 2
    assert _sample(gateway, "gateway_auth_failures_total", reason="source_not_allowed") == 2
    assert _sample(gateway, "gateway_webhooks_total", endpoint="tradingview", status="403") == 2


async def test_behind_a_trusted_proxy_the_last_forwarded_address_counts(make_gateway, client_for):
    gateway, js = make_gateway(allowed_sources="52.89.214.238", trust_proxy=True)
    proxy = client_for(gateway, client=("127.0.0.1", 50000))

    allowed = await proxy.post("/webhook/tradingview", json=_signal(), headers={"X-Forwarded-For": "198.51.100.7, 52.89.214.238"})
    # A client that puts an allowed address first is still judged by what the proxy appended.
    spoofed = await proxy.post(
        "/webhook/tradingview", json=_signal(strategy="s"), headers={"X-Forwarded-For": "52.89.214.238, 198.51.100.7"}
    )
    assert allowed.status_code == 200
    assert spoofed.status_code == 403
    assert len(js.published) == 1


async def test_a_burst_over_the_rate_limit_is_429_with_retry_after_and_not_published(make_gateway, client_for):
    gateway, js = make_gateway(rate_limit_per_s=0.5, rate_limit_burst=3, rate_limit_exempt="")
    sender = client_for(gateway, client=("203.0.113.9", 40000))
    other = client_for(gateway, client=("198.51.100.7", 40000))

    statuses = [(await sender.post("/webhook/tradingview", json=_signal(strategy=f"s{i}"))) for i in range(6)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429, 429, 429]
    limited = statuses[-1]
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["error"] == "rate_limited" and limited.json()["errors"][0]["field"] == "source"
    # Buckets are per source: another sender is unaffected.
    assert (await other.post("/webhook/tradingview", json=_signal(strategy="other"))).status_code == 200
    assert len(js.published) == 4
    assert _sample(gateway, "gateway_webhooks_total", endpoint="tradingview", status="429") == 3


async def test_loopback_is_exempt_from_the_default_rate_limit(make_gateway, client_for):
    gateway, js = make_gateway()
    client = client_for(gateway)
    statuses = {(await client.post("/webhook/test", json=_signal(strategy=f"s{i}"))).status_code for i in range(400)}
    assert statuses == {200}
    assert len(js.published) == 400


async def test_a_stale_or_future_timestamp_is_422_naming_timestamp(make_gateway, client_for):
    gateway, js = make_gateway()
    client = client_for(gateway)

    spec_example = await client.post("/webhook/tradingview", json=_signal(timestamp="2024-01-15T10:30:00Z"))
    future = await client.post("/webhook/tradingview", json=_signal(timestamp=_now_iso(+120)))
    slightly_ahead = await client.post("/webhook/tradingview", json=_signal(timestamp=_now_iso(+10)))
    naive_utc_now = await client.post("/webhook/tradingview", json=_signal(timestamp=datetime.utcnow().isoformat()))

    for response, words in ((spec_example, "old"), (future, "ahead")):
        assert response.status_code == 422, response.text
        [error] = response.json()["errors"]
        assert error["field"] == "timestamp" and error["reason"] == "timestamp_out_of_window" and words in error["message"]
    assert slightly_ahead.status_code == 200 and naive_utc_now.status_code == 200
    assert len(js.published) == 2
    assert _sample(gateway, "gateway_validation_errors_total", reason="timestamp_out_of_window") == 2


async def test_with_the_replay_window_off_the_specification_example_is_accepted(make_gateway, client_for):
    gateway, js = make_gateway(max_signal_age_s=0)
    response = await client_for(gateway).post("/webhook/tradingview", json=_signal(timestamp="2024-01-15T10:30:00Z"))
    assert response.status_code == 200


async def test_one_422_lists_every_problem_a_bad_action_a_confidence_of_7_and_an_old_timestamp(make_gateway, client_for):
    gateway, js = make_gateway()
    body = _signal(action="moon", confidence=7, timestamp="2024-01-15T10:30:00Z")
    response = await client_for(gateway).post("/webhook/tradingview", json=body)
    assert response.status_code == 422, response.text
    problems = {(e["field"], e["reason"]) for e in response.json()["errors"]}
    assert problems == {("action", "out_of_range"), ("confidence", "out_of_range"), ("timestamp", "timestamp_out_of_window")}
    assert js.published == []


async def test_a_payload_without_timestamp_is_accepted_by_default_and_refused_when_required(make_gateway, client_for):
    body = {"instrument": "EURUSD", "action": "buy"}
    lenient, _ = make_gateway()
    strict, js = make_gateway(require_timestamp=True)
    assert (await client_for(lenient).post("/webhook/test", json=body)).status_code == 200
    refused = await client_for(strict).post("/webhook/test", json=body)
    assert refused.status_code == 422
    [error] = refused.json()["errors"]
    assert error["field"] == "timestamp" and error["reason"] == "missing_field" and "AT_REQUIRE_TIMESTAMP" in error["message"]
    assert js.published == []


async def test_a_body_that_does_not_arrive_in_time_is_408(make_gateway):
    gateway, js = make_gateway(request_deadline_s=0.05)
    never = asyncio.Event()
    sent: list[dict] = []

    async def receive():
        await never.wait()

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/webhook/tradingview",
        "headers": [(b"content-type", b"application/json")],
        "client": ("203.0.113.9", 1),
    }
    started = time.monotonic()
    await asyncio.wait_for(gateway(scope, receive, send), timeout=5)
    assert time.monotonic() - started < 1.0
    assert sent[0]["status"] == 408
    assert orjson.loads(sent[1]["body"])["error"] == "request_timeout"
    assert js.published == []
    assert _sample(gateway, "gateway_webhooks_total", endpoint="tradingview", status="408") == 1


async def test_beyond_the_inflight_cap_the_gateway_answers_503_at_once(make_gateway, client_for):
    gateway, js = make_gateway(max_inflight_publishes=2)
    js.held = asyncio.Event()
    client = client_for(gateway)

    waiting = [asyncio.create_task(client.post("/webhook/tradingview", json=_signal(strategy=f"w{i}"))) for i in range(2)]
    await async_poll_until(lambda: _sample(gateway, "gateway_inflight_publishes") == 2, what="two publishes held in flight")
    started = time.monotonic()
    refused = await client.post("/webhook/tradingview", json=_signal(strategy="third"))
    assert time.monotonic() - started < 0.5
    assert refused.status_code == 503 and refused.json()["error"] == "overloaded"
    assert refused.headers["retry-after"] == "1"
    assert _sample(gateway, "gateway_backpressure_rejections_total") == 1

    js.held.set()
    assert [r.status_code for r in await asyncio.gather(*waiting)] == [200, 200]
    assert _sample(gateway, "gateway_inflight_publishes") == 0
    assert len(js.published) == 2


async def test_other_methods_get_405_with_allow(client):
    webhook = await client.get("/webhook/test")
    health = await client.post("/healthz")
    assert webhook.status_code == 405 and webhook.headers["allow"] == "POST"
    assert health.status_code == 405 and health.headers["allow"] == "GET, HEAD"


# -- input edges: no input makes a 5xx ----------------------------------------------------------


async def test_nesting_deeper_than_a_signal_can_be_is_400_naming_the_body(make_gateway, client_for):
    gateway, js = make_gateway()
    deep = b'{"instrument": "EURUSD", "action": "buy", "timestamp": "' + _now_iso().encode() + b'", "x": '
    deep += b"[" * 300 + b"]" * 300 + b"}"
    response = await client_for(gateway).post("/webhook/tradingview", content=deep, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    assert error["field"] == "body" and "deeper than 32" in error["message"]
    assert js.published == []


async def test_an_unexpected_failure_is_a_counted_json_500_logged_with_its_traceback(make_gateway, client_for, monkeypatch):
    from structlog.processors import format_exc_info
    from structlog.testing import capture_logs

    gateway, js = make_gateway()

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in validation")

    monkeypatch.setattr("agentic_trading.gateway.app.build_signal", broken)
    with capture_logs(processors=[format_exc_info]) as logs:
        response = await client_for(gateway).post("/webhook/tradingview", json=_signal(), headers={"X-Correlation-ID": "cid-500"})
    assert response.status_code == 500
    assert response.json()["error"] == "internal_error" and response.json()["correlation_id"] == "cid-500"
    assert _sample(gateway, "gateway_webhooks_total", endpoint="tradingview", status="500") == 1
    [failed] = [line for line in logs if line["event"] == "webhook_failed"]
    assert failed["correlation_id"] == "cid-500" and "RuntimeError: a bug in validation" in failed["exception"]


@pytest.mark.parametrize(
    "content_type", ["application/json", "text/plain; charset=utf-8", "APPLICATION/JSON; charset=UTF-8", None]
)
async def test_json_and_text_plain_and_no_content_type_are_read_as_json(make_gateway, client_for, content_type):
    gateway, js = make_gateway()
    headers = {"content-type": content_type} if content_type else {}
    response = await client_for(gateway).post("/webhook/test", content=orjson.dumps(_signal()), headers=headers)
    assert response.status_code == 200, response.text
    assert len(js.published) == 1


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml"]
)
async def test_other_content_types_are_415_naming_the_header_and_not_read(make_gateway, client_for, content_type):
    gateway, js = make_gateway()
    response = await client_for(gateway).post(
        "/webhook/tradingview", content=orjson.dumps(_signal()), headers={"content-type": content_type}
    )
    assert response.status_code == 415
    assert response.json()["errors"][0]["field"] == "Content-Type"
    assert "application/json" in response.headers["accept-post"]
    assert js.published == []
    assert _sample(gateway, "gateway_validation_errors_total", reason="unsupported_media_type") == 1
