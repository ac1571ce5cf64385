"""The gateway's webhook handler under arbitrary bodies and headers, in-process, with and without a secret.

Whatever arrives, the answer is a 4xx naming a field or a 200; never a server error, never a
refused webhook published, never the secret in anything published.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from agentic_trading.gateway.app import Gateway
from agentic_trading.gateway.auth import WebhookAuthenticator
from agentic_trading.settings import Settings

SECRET = "fuzz-secret-4f1c9b7e2d"
REFUSALS = {400, 401, 413, 422}


@dataclass
class _Ack:
    seq: int
    duplicate: bool


@dataclass
class _RecordingJetStream:
    published: list[bytes] = field(default_factory=list)

    async def publish(self, subject: str, payload: bytes, timeout: float, headers: dict[str, str]) -> _Ack:
        self.published.append(payload)
        return _Ack(seq=len(self.published), duplicate=False)


class _Connected:
    is_connected = True


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def _gateway(**overrides: Any) -> tuple[Gateway, _RecordingJetStream]:
    gateway = Gateway(Settings(port_offset=45000, max_body_bytes=4096, **overrides))
    js = _RecordingJetStream()
    gateway.nc, gateway.js = _Connected(), js  # type: ignore[assignment]
    return gateway, js


def _post(loop: asyncio.AbstractEventLoop, gateway: Gateway, body: bytes, headers: list[tuple[bytes, bytes]]) -> int:
    sent: list[dict[str, Any]] = []
    # The body in two chunks, as a slow network might deliver it.
    messages = iter(
        [
            {"type": "http.request", "body": body[:7], "more_body": True},
            {"type": "http.request", "body": body[7:], "more_body": False},
        ]
    )

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/webhook/tradingview", "headers": headers, "client": ("203.0.113.9", 1)}
    loop.run_until_complete(gateway(scope, receive, send))
    status = sent[0]["status"]
    answer = orjson.loads(sent[1]["body"])
    if status != 200:
        assert answer["errors"] and all(e["field"] for e in answer["errors"]), answer
    return status


def _fresh(payload: Any) -> Any:
    if isinstance(payload, dict) and "timestamp" in payload and payload["timestamp"] == "now":
        return {**payload, "timestamp": datetime.now(UTC).isoformat()}
    return payload


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
signals = st.fixed_dictionaries(
    {
        "instrument": st.sampled_from(["EURUSD", "ES1!", "", "x" * 50]) | json_values,
        "action": st.sampled_from(["buy", "sell", "SHORT"]),
    },
    optional={
        "timestamp": st.sampled_from(["now", "2024-01-15T10:30:00Z", "soon", "9999-12-31T23:59:59-01:00"]),
        "price": st.floats(min_value=0.5, max_value=2) | json_values,
        "stop_loss": st.floats(min_value=0.5, max_value=2),
        "take_profit": st.floats(min_value=0.5, max_value=2),
        "secret": st.sampled_from([SECRET, SECRET + "x", "", None, 1]),
        "confidence": st.floats() | json_values,
    },
).map(_fresh)
# Mostly well-formed alerts, so that the accepting path is fuzzed too (secret right, wrong or absent).
good_signals = st.fixed_dictionaries(
    {
        "instrument": st.sampled_from(["EURUSD", "GBPUSD"]),
        "action": st.sampled_from(["buy", "sell", "hold"]),
        "timestamp": st.just("now"),
    },
    optional={"secret": st.sampled_from([SECRET, SECRET, "nope"]), "confidence": st.floats(min_value=0, max_value=1)},
).map(_fresh)
bodies = st.one_of(
    good_signals.map(lambda p: json.dumps(p).encode()),
    st.binary(max_size=64),
    st.binary(min_size=4090, max_size=4200),
    signals.map(lambda p: json.dumps(p).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
)
signature_headers = st.one_of(
    st.none(),
    st.binary(max_size=80),
    st.just(b"sha256=" + b"0" * 64),
    st.just("sign"),  # replaced by the body's real signature
)
other_headers = st.lists(
    st.tuples(
        st.sampled_from([b"x-correlation-id", b"idempotency-key", b"content-length", b"x-forwarded-for"]), st.binary(max_size=140)
    ),
    max_size=3,
)


@settings(max_examples=600)
@given(bodies, signature_headers, other_headers, st.booleans())
def test_any_webhook_gets_a_field_named_refusal_or_is_stored_without_its_secret(loop, body, signature, headers, with_secret):
    gateway, js = _gateway(webhook_secret=SECRET) if with_secret else _gateway()
    if signature == "sign":
        signature = WebhookAuthenticator(SECRET).sign(body).encode()
    request_headers = list(headers) + ([(b"x-signature", signature)] if signature is not None else [])

    status = _post(loop, gateway, body, request_headers)
    event(f"status {status}")

    assert status == 200 or status in REFUSALS, status
    if status != 200:
        assert js.published == []
    for published in js.published:
        assert SECRET.encode() not in published
        assert "secret" not in orjson.loads(published)
