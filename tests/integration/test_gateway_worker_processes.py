"""``AT_GATEWAY_WORKERS=2`` against the real stack: both workers serve, and the metrics add up.

A second gateway with two worker processes starts on a free port, wired to the session
stack's NATS and Redis (as in ``test_gateway_security.py``). Every request goes over a new
connection, so the kernel spreads them over both workers; a scrape through either worker
must count every request, and every accepted signal is decided exactly once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil
import pytest
from _live import SPEC_SIGNAL, LiveStack
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families

from _support import eventually, free_port_near, stop_process
from agentic_trading.gateway.workers import metrics_dir

pytestmark = pytest.mark.integration

WORKERS = 2
MIN_ACCEPTED = 30


@dataclass
class TwoWorkerGateway:
    url: str
    process: subprocess.Popen
    metrics_dir: Path


def _fresh_connection() -> httpx.Client:
    """A client that opens a new connection for every request (no keep-alive)."""
    return httpx.Client(timeout=10.0, limits=httpx.Limits(max_keepalive_connections=0))


@pytest.fixture(scope="module")
def gateway(live: LiveStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoWorkerGateway]:
    settings = live.settings
    port = free_port_near(settings.port("gateway") + 250)
    output = tmp_path_factory.mktemp("two-worker-gateway") / "gateway.out"
    env = {
        **os.environ,
        **settings.child_environment(),
        "AT_GATEWAY_PORT": str(port - settings.port_offset),
        "AT_GATEWAY_WORKERS": str(WORKERS),
    }
    url = f"http://127.0.0.1:{port}"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "agentic_trading.gateway"], env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        with _fresh_connection() as client:

            def ready() -> bool:
                assert process.poll() is None, f"the two-worker gateway exited: {output.read_text()}"
                try:
                    response = client.get(url + "/readyz")
                except httpx.TransportError:
                    return False
                return response.status_code == 200 and response.json()["checks"].get("workers") == "ok"

            eventually(ready, timeout_s=30, what=f"the two-worker gateway on {url} ready")
        yield TwoWorkerGateway(url=url, process=process, metrics_dir=metrics_dir(settings.state_dir))
    finally:
        stop_process(process, timeout_s=15)


def _scrape(client: httpx.Client, url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = client.get(url + "/metrics").text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in text_string_to_metric_families(text) for s in f.samples}


def _webhooks_counted_by(file: Path) -> float:
    """Webhooks one worker counted, read from its own multiprocess file."""
    return sum(
        value
        for key, value, _ts, _pos in MmapedDict.read_all_values_from_file(str(file))
        if json.loads(key)[0] == "gateway_webhooks"
    )


def test_two_workers_both_serve_and_a_scrape_counts_every_request(live: LiveStack, gateway: TwoWorkerGateway):
    workers = {child.pid for child in psutil.Process(gateway.process.pid).children(recursive=True)}
    seen: set[int] = set()
    with _fresh_connection() as client:

        def both_answered() -> bool:
            seen.add(client.get(gateway.url + "/healthz").json()["pid"])
            return len(seen) == WORKERS

        eventually(both_answered, timeout_s=20, interval_s=0.01, what="/healthz answered by both workers")
        assert seen <= workers, f"{seen} are not the gateway's worker processes {workers}"

        decisions_seq = live.stream_last_seq("DECISIONS")
        signal_ids: list[str] = []
        invalid = 0

        def both_took_webhooks() -> dict[str, float] | None:
            """Send a round (3 accepted, 1 invalid); the per-worker counts once each worker counted some.

            Both workers accept on one socket, so the kernel hands a new connection to whichever
            wakes first: a full CI run saw one worker take all 40 of a fixed batch. Sending until
            each has some (bounded by the deadline) tests the sum without betting on the spread.
            """
            nonlocal invalid
            for _ in range(3):
                now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
                payload = {**SPEC_SIGNAL, "timestamp": now, "strategy": f"workers-{uuid.uuid4().hex[:10]}"}
                response = client.post(gateway.url + "/webhook/test", json=payload)
                assert response.status_code == 200, response.text
                signal_ids.append(response.json()["signal_id"])
            response = client.post(gateway.url + "/webhook/test", json={**SPEC_SIGNAL, "action": "sideways"})
            assert response.status_code == 422, response.text
            invalid += 1
            counted = {file.name: _webhooks_counted_by(file) for file in gateway.metrics_dir.glob("counter_*.db")}
            return counted if len(signal_ids) >= MIN_ACCEPTED and len(counted) == WORKERS and all(counted.values()) else None

        eventually(both_took_webhooks, timeout_s=60, interval_s=0, what="webhooks taken by both workers")
        accepted = len(signal_ids)

        # The last answer's count may land just after the client has it (the per-worker files
        # once read 39 of 40 right after the last answer): wait for it, briefly, then every
        # scrape, whichever worker answers it, counts every worker's requests exactly.
        total = ("gateway_processing_duration_seconds_count", (("endpoint", "test"),))
        eventually(
            lambda: _scrape(client, gateway.url).get(total) == accepted + invalid,
            timeout_s=5,
            what=f"a scrape counting all {accepted + invalid} webhooks",
        )
        for _ in range(4):
            samples = _scrape(client, gateway.url)
            assert samples[("gateway_webhooks_total", (("endpoint", "test"), ("status", "200")))] == accepted
            assert samples[("gateway_webhooks_total", (("endpoint", "test"), ("status", "422")))] == invalid
            assert samples[total] == accepted + invalid
            assert samples[("gateway_nats_connected", ())] == 1

    # Both workers took webhooks, and their own files add up to every request (read again after
    # the scrapes, for the same reason).
    per_worker = {file.name: _webhooks_counted_by(file) for file in gateway.metrics_dir.glob("counter_*.db")}
    assert len(per_worker) == WORKERS and all(per_worker.values()), per_worker
    assert sum(per_worker.values()) == accepted + invalid, per_worker

    # Exactly once: each accepted signal decided once (dedup lives in JetStream and Redis, not the worker).
    wanted = set(signal_ids)

    def all_decided() -> Counter[str] | None:
        decided = Counter(
            d["signal_id"] for d in live.stream_payloads("DECISIONS", "decisions.>", decisions_seq) if d["signal_id"] in wanted
        )
        return decided if set(decided) == wanted else None

    decided, _ = eventually(all_decided, timeout_s=20, interval_s=0.5, what=f"a decision for each of {accepted} signals")
    assert {s: n for s, n in decided.items() if n != 1} == {}
