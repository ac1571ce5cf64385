"""A gateway that faces the internet, against the real stack: secrets, signatures, limits, replays.

The session stack's gateway has no secret, so this module starts a second gateway process on a
free port with ``AT_WEBHOOK_SECRET``, an allow-list, a trusted proxy and a small rate limit, wired to
the session stack's NATS and Redis (the same ``AT_PORT_OFFSET``). Every refusal is checked against
the SIGNALS stream: nothing refused is ever stored. At the end, the secret must appear nowhere in the
stack's state directory (configs, logs, JetStream and Redis data) nor in that gateway's own output.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from _live import SPEC_SIGNAL, LiveStack

from _support import eventually, free_port_near, stop_process
from agentic_trading.stack.logs import log_files
from agentic_trading.stack.trace import wait_for_trace

pytestmark = pytest.mark.integration

PROXY_CLIENT = "198.51.100.77"  # rate-limited: not loopback, inside the allow-list
STRANGER = "203.0.113.5"  # outside the allow-list
RATE_LIMIT_BURST = 5
MAX_INFLIGHT = 8


@dataclass
class SecuredGateway:
    url: str
    secret: str
    output: Path
    http: httpx.Client

    def post(
        self,
        payload: Any = None,
        *,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        path: str = "/webhook/test",
    ) -> httpx.Response:
        """POST a signal; to /webhook/test by default, so the paper positions other tests rely on never move."""
        body = content if content is not None else orjson.dumps(payload)
        return self.http.post(self.url + path, content=body, headers={"content-type": "application/json", **(headers or {})})

    def sign(self, body: bytes) -> str:
        return "sha256=" + hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()


@pytest.fixture(scope="module")
def secured(live: LiveStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredGateway]:
    settings = live.settings
    port = free_port_near(settings.port("gateway") + 50)
    secret = "it-" + secrets.token_hex(16)
    output = tmp_path_factory.mktemp("secured-gateway") / "gateway.out"
    env = {
        **os.environ,
        **settings.child_environment(),
        "AT_GATEWAY_PORT": str(port - settings.port_offset),
        "AT_WEBHOOK_SECRET": secret,
        "AT_ALLOWED_SOURCES": f"127.0.0.1,{PROXY_CLIENT}/32",
        "AT_TRUST_PROXY": "true",
        "AT_RATE_LIMIT_PER_S": "0.5",
        "AT_RATE_LIMIT_BURST": str(RATE_LIMIT_BURST),
        "AT_MAX_INFLIGHT_PUBLISHES": str(MAX_INFLIGHT),
        "AT_LOG_LEVEL": "debug",  # everything it could log, so the grep at the end sees it all
    }
    url = f"http://127.0.0.1:{port}"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "agentic_trading.gateway"], env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        with httpx.Client(timeout=10.0) as client:

            def ready() -> bool:
                assert process.poll() is None, f"the secured gateway exited: {output.read_text()}"
                try:
                    return client.get(url + "/readyz").status_code == 200
                except httpx.TransportError:
                    return False

            eventually(ready, timeout_s=20, what=f"the secured gateway on {url} ready")
            yield SecuredGateway(url=url, secret=secret, output=output, http=client)
    finally:
        stop_process(process)


def _fresh(**extra: Any) -> dict[str, Any]:
    """The specification's signal with a timestamp of now and distinct content."""
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return {**SPEC_SIGNAL, "timestamp": now, "strategy": f"sec-{uuid.uuid4().hex[:10]}", **extra}


def test_missing_or_wrong_secret_is_401_and_the_right_one_200(live: LiveStack, secured: SecuredGateway):
    before = live.signal_mark()
    missing = secured.post(_fresh(), path="/webhook/tradingview")
    wrong = secured.post(_fresh(secret="not-the-secret"), path="/webhook/tradingview")
    not_json = secured.post(content=b"BUY EURUSD NOW")
    live.signals_stored_since(before, 0)

    for response, reason in ((missing, "missing"), (wrong, "wrong"), (not_json, "missing")):
        assert response.status_code == 401, response.text
        body = response.json()
        assert body["error"] == "unauthorized"
        assert body["errors"][0]["field"] == "secret" and body["errors"][0]["reason"] == reason
    assert live.metric_sample("gateway", "gateway_auth_failures_total") == 0  # the session gateway saw none of it

    right = secured.post(_fresh(secret=secured.secret))
    assert right.status_code == 200, right.text
    live.signals_stored_since(before, 1)


def test_a_valid_hmac_is_200_and_the_same_signature_on_an_altered_body_401(live: LiveStack, secured: SecuredGateway):
    body = orjson.dumps(_fresh())
    signature = secured.sign(body)
    before = live.signal_mark()

    tampered = secured.post(content=body.replace(b'"buy"', b'"sell"'), headers={"X-Signature": signature})
    assert tampered.status_code == 401
    assert tampered.json()["errors"][0]["field"] == "X-Signature"
    assert tampered.json()["errors"][0]["reason"] == "bad_signature"
    live.signals_stored_since(before, 0)

    signed = secured.post(content=body, headers={"X-Signature": signature})
    assert signed.status_code == 200, signed.text
    live.signals_stored_since(before, 1)


def test_a_2_mb_body_is_413_and_publishes_nothing(live: LiveStack, secured: SecuredGateway):
    before = live.signal_mark()
    huge = orjson.dumps(_fresh(secret=secured.secret, padding="x" * (2 * 1024 * 1024)))
    response = secured.post(content=huge)
    assert response.status_code == 413
    assert response.json()["errors"][0]["field"] == "body"
    live.signals_stored_since(before, 0)


def test_a_source_outside_the_allow_list_is_403(live: LiveStack, secured: SecuredGateway):
    before = live.signal_mark()
    response = secured.post(_fresh(secret=secured.secret), headers={"X-Forwarded-For": STRANGER})
    assert response.status_code == 403
    assert STRANGER in response.json()["errors"][0]["message"]
    live.signals_stored_since(before, 0)


def test_a_burst_over_the_rate_limit_is_429_with_retry_after_and_stores_only_what_was_accepted(
    live: LiveStack, secured: SecuredGateway
):
    before = live.signal_mark()
    responses = [
        secured.post(_fresh(secret=secured.secret), headers={"X-Forwarded-For": PROXY_CLIENT})
        for _ in range(RATE_LIMIT_BURST + 10)
    ]
    statuses = [r.status_code for r in responses]
    accepted = statuses.count(200)

    assert statuses[:RATE_LIMIT_BURST] == [200] * RATE_LIMIT_BURST
    assert statuses.count(429) >= 9, statuses
    limited = next(r for r in responses if r.status_code == 429)
    assert int(limited.headers["retry-after"]) >= 1
    live.signals_stored_since(before, accepted)
    # The same client from loopback (no proxy) is exempt from the limit.
    assert secured.post(_fresh(secret=secured.secret)).status_code == 200

    metrics = secured.http.get(secured.url + "/metrics").text
    assert f'gateway_webhooks_total{{endpoint="test",status="429"}} {float(statuses.count(429))}' in metrics


def test_when_jetstream_hangs_the_gateway_answers_503_at_once_beyond_its_inflight_cap(live: LiveStack, secured: SecuredGateway):
    """NATS paused: sent publishes are answered "outcome unknown", and re-sending them finds each stored once.

    The pause (SIGSTOP) keeps the socket open, so publishes are written and never acknowledged:
    their outcome is unknown, and indeed nats-server stores them once it runs again. A client
    that re-sends the same bodies gets ``duplicate: true`` for those and exactly one decision each.
    """
    count = MAX_INFLIGHT + 12
    bodies = [_fresh(secret=secured.secret, strategy=f"hang-{uuid.uuid4().hex[:6]}-{i}") for i in range(count)]

    def send(i: int) -> tuple[int, str, float]:
        started = time.monotonic()
        response = secured.post(bodies[i])
        return response.status_code, response.json().get("error", ""), time.monotonic() - started

    live.stack.pause("nats")  # SIGSTOP: the socket stays open, nothing is acknowledged
    try:
        with ThreadPoolExecutor(max_workers=count) as pool:
            answers = list(pool.map(send, range(count)))
    finally:
        live.stack.resume("nats")
    live.stack.wait_healthy(timeout=30)

    overloaded = [i for i, (status, error, _) in enumerate(answers) if (status, error) == (503, "overloaded")]
    unknown = [i for i, (status, error, _) in enumerate(answers) if (status, error) == (503, "outcome_unknown")]
    assert len(overloaded) + len(unknown) == count, answers
    assert len(unknown) <= MAX_INFLIGHT and len(overloaded) >= count - MAX_INFLIGHT, answers
    assert max(answers[i][2] for i in overloaded) < 1.0, "an overloaded answer was not immediate"
    metrics = secured.http.get(secured.url + "/metrics").text
    assert f"gateway_backpressure_rejections_total {float(len(overloaded))}" in metrics
    assert "gateway_inflight_publishes 0.0" in metrics

    eventually(lambda: secured.post(bodies[0]).status_code == 200, timeout_s=15, what="the gateway publishing again")
    retried = {i: secured.post(bodies[i]).json() for i in range(count)}
    assert all(retried[i]["duplicate"] for i in unknown), "an 'outcome unknown' signal was not stored after all?"
    for answer in retried.values():
        eventually(
            lambda answer=answer: _decision_lines(live, answer["signal_id"]), timeout_s=30, what=f"a decision for {answer}"
        )
    eventually(lambda: _consumers_idle(live), timeout_s=30, interval_s=0.2, what="every consumer idle")
    assert all(len(_decision_lines(live, retried[i]["signal_id"])) == 1 for i in range(count))


def _consumers_idle(live: LiveStack) -> bool:
    """Every consumer of SIGNALS and OPINIONS has nothing pending or unacknowledged."""
    for account in live.jsz().get("account_details", []):
        for stream in account.get("stream_detail", []):
            for consumer in stream.get("consumer_detail", []) or []:
                if consumer.get("num_pending", 0) or consumer.get("num_ack_pending", 0):
                    return False
    return True


def _decision_lines(live: LiveStack, signal_id: str) -> list[dict[str, Any]]:
    lines = []
    for path in log_files(live.settings.log_dir, include_rotated=True):
        if path.name.startswith("orchestrator"):
            for raw in path.read_bytes().splitlines():
                if signal_id.encode() in raw and b"decision_published" in raw:
                    lines.append(orjson.loads(raw))
    return lines


def test_a_replayed_signed_webhook_is_one_signal_and_one_decision(live: LiveStack, secured: SecuredGateway):
    body = orjson.dumps(_fresh())
    headers = {"X-Signature": secured.sign(body)}
    before = live.signal_mark()

    first = secured.post(content=body, headers={**headers, "X-Correlation-ID": f"replay-{uuid.uuid4().hex[:8]}"})
    replay_id = f"replay-{uuid.uuid4().hex[:8]}"
    replay = secured.post(content=body, headers={**headers, "X-Correlation-ID": replay_id})

    assert first.status_code == replay.status_code == 200
    signal_id = first.json()["signal_id"]
    assert replay.json()["signal_id"] == signal_id and replay.json()["duplicate"] is True
    # The duplicate's answer names the original's correlation id, and its own as the retry's.
    assert replay.json()["correlation_id"] == first.json()["correlation_id"]
    assert replay.json()["retry_correlation_id"] == replay_id
    live.signals_stored_since(before, 1)
    trace = wait_for_trace(live.settings.log_dir, first.json()["correlation_id"], timeout=10.0, interval=0.1)
    assert trace.decision is not None, "the signal was never decided"
    eventually(lambda: _consumers_idle(live), timeout_s=30, interval_s=0.2, what="every consumer done")
    assert len(_decision_lines(live, signal_id)) == 1
    # The replay's own correlation id never reached the agents or the orchestrator.
    replay_trace = wait_for_trace(live.settings.log_dir, replay_id, timeout=0)
    assert {e.service for e in replay_trace.events} <= {"gateway"}


def test_the_secret_is_nowhere_in_the_stacks_files_or_the_gateways_output(live: LiveStack, secured: SecuredGateway):
    # One more signal carrying the secret, followed until it is decided, so every service has seen it.
    response = secured.post(_fresh(secret=secured.secret), headers={"X-Correlation-ID": f"secret-{uuid.uuid4().hex[:8]}"})
    assert response.status_code == 200
    assert wait_for_trace(live.settings.log_dir, response.json()["correlation_id"], timeout=10.0).decision is not None

    needle = secured.secret.encode()
    leaks = [path for path in live.settings.state_dir.rglob("*") if path.is_file() and needle in _read(path)]
    assert not leaks, f"the webhook secret was written to {leaks}"
    output = secured.output.read_bytes()
    assert b"webhook_unauthorized" in output  # the refusals were logged ...
    assert needle not in output  # ... without the secret


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except (FileNotFoundError, PermissionError):  # a socket, or a file rotated away meanwhile
        return b""
