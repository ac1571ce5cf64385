"""Back-pressure instead of loss, against the real stack: a full SIGNALS stream refuses, and says so first.

The orchestrator is paused (SIGSTOP), so no signal is acknowledged by every consumer and the
SIGNALS stream (interest retention, ``discard: new``) keeps them all. Its limit is lowered for
the test to 64 KiB (about 150 signals) and restored afterwards. Before the first refusal, the
alert NATSStreamNearlyFull must be firing and the gateway's readiness must have turned; the
gateway must then answer 503 ``stream_full`` and store nothing; after resuming, every signal
answered 200 must be decided exactly once.

Lag says "over capacity" earlier than fullness: with the orchestrator paused, the age of the
oldest signal not yet acknowledged by every consumer (``gateway_signal_backlog_seconds``)
passes half the decision deadline and the gateway's readiness turns, while the stream is
nearly empty; after resuming, readiness comes back.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterator

import nats
import pytest
from _live import LiveStack

from _support import eventually
from agentic_trading import bus
from agentic_trading.credentials import ADMIN, nats_credentials

# Pausing the orchestrator leaves the canary and SLO windows burning for minutes: run late.
pytestmark = [pytest.mark.integration, pytest.mark.leaves_alerts]

TEST_LIMIT_BYTES = 64 * 1024
MAX_SIGNALS = 600


def _set_signals_max_bytes(live: LiveStack, max_bytes: int) -> None:
    async def update() -> None:
        nc = await nats.connect(live.settings.nats_url, connect_timeout=2, **nats_credentials(live.settings, ADMIN))
        try:
            js = nc.jetstream()
            info = await js.stream_info(bus.SIGNALS_STREAM)
            info.config.max_bytes = max_bytes
            await js.update_stream(info.config)
        finally:
            await nc.close()

    asyncio.run(update())


def _signals_fullness(live: LiveStack) -> float:
    for account in live.jsz().get("account_details", []):
        for detail in account.get("stream_detail", []):
            if detail["name"] == bus.SIGNALS_STREAM:
                return detail["state"]["bytes"] / TEST_LIMIT_BYTES
    return 0.0


@pytest.fixture
def small_signals_stream(live: LiveStack) -> Iterator[None]:
    _set_signals_max_bytes(live, TEST_LIMIT_BYTES)
    live.stack.pause("orchestrator")
    try:
        yield
    finally:
        live.stack.resume("orchestrator")
        _set_signals_max_bytes(live, bus.STREAM_LIMITS[bus.SIGNALS_STREAM].max_bytes)


def _post(live: LiveStack, tag: str, i: int):
    payload = {"instrument": "BPTEST", "action": "hold", "strategy": f"{tag}-{i}"}
    return live.http.post(live.url("gateway") + "/webhook/test", json=payload)


def test_a_full_signals_stream_refuses_with_503_after_alerting_and_loses_nothing(live: LiveStack, small_signals_stream):
    tag = uuid.uuid4().hex[:8]
    decisions_seq = live.stream_last_seq("DECISIONS")
    accepted: list[str] = []
    alert_seen = not_ready_seen = False
    refusal = None
    for i in range(MAX_SIGNALS):
        if not alert_seen and _signals_fullness(live) > 0.8:
            eventually(
                lambda: live.query('ALERTS{alertname="NATSStreamNearlyFull", alertstate="firing", stream="SIGNALS"}'),
                timeout_s=30,
                interval_s=0.5,
                what="NATSStreamNearlyFull firing at 80 % of SIGNALS",
            )
            alert_seen = True
        if not not_ready_seen and _signals_fullness(live) >= 0.9:
            ready = live.http.get(live.url("gateway") + "/readyz")
            assert ready.status_code == 503 and "signals_stream" in ready.text, ready.text
            not_ready_seen = True
        response = _post(live, tag, i)
        if response.status_code == 200:
            accepted.append(response.json()["signal_id"])
            continue
        refusal = response
        break
    assert refusal is not None, f"SIGNALS never refused after {len(accepted)} signals"
    assert alert_seen and not_ready_seen, "the stream refused before the alert fired and readiness turned"
    body = refusal.json()
    assert refusal.status_code == 503 and body["error"] == "stream_full", body
    assert "not stored" in body["message"] and refusal.headers["retry-after"]
    stored_seq = live.stream_last_seq("SIGNALS")
    again = _post(live, tag, 10_000)
    assert again.status_code == 503 and live.stream_last_seq("SIGNALS") == stored_seq, "a refused signal was stored"

    live.stack.resume("orchestrator")
    eventually(
        lambda: live.stream_last_seq("DECISIONS") - decisions_seq >= len(accepted),
        timeout_s=60,
        interval_s=0.5,
        what=f"{len(accepted)} decisions after resuming the orchestrator",
    )
    decided = Counter(d["signal_id"] for d in live.stream_payloads("DECISIONS", "decisions.>", decisions_seq))
    assert all(decided[signal_id] == 1 for signal_id in accepted), {s: decided[s] for s in accepted if decided[s] != 1}


def test_a_lagging_consumer_turns_readiness_before_any_decision_degrades(live: LiveStack) -> None:
    def backlog_check() -> str:
        return live.http.get(live.url("gateway") + "/readyz").json()["checks"]["signal_backlog"]

    # Start from an idle pipeline, so the lag measured below is this test's signal.
    eventually(lambda: backlog_check() == "ok" or None, timeout_s=60, interval_s=0.2, what="an idle pipeline")
    limit = live.settings.decision_deadline_s / 2
    live.stack.pause("orchestrator")
    try:
        accepted = _post(live, f"lag-{uuid.uuid4().hex[:8]}", 0)
        assert accepted.status_code == 200, accepted.text
        problem, _ = eventually(
            lambda: (check := backlog_check()) != "ok" and check or None,
            timeout_s=15,
            interval_s=0.2,
            what=f"/readyz not ready once the paused orchestrator is {limit:g} s behind",
        )
        assert "over capacity" in problem, problem
        assert live.http.get(live.url("gateway") + "/readyz").status_code == 503
        assert live.metric_sample("gateway", "gateway_signal_backlog_seconds") > limit
    finally:
        live.stack.resume("orchestrator")
    eventually(lambda: backlog_check() == "ok" or None, timeout_s=30, interval_s=0.2, what="ready again after resuming")
