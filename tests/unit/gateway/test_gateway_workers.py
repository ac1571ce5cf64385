"""Several gateway workers' metrics read as one (``gateway/workers.py``), over two real processes.

Each worker is a separate Python process writing prometheus_client's multiprocess files into
one directory, as uvicorn's workers do; the test process reads them the way ``/metrics`` does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from agentic_trading.gateway.workers import MULTIPROC_ENV, connected_workers, scrape_registry

WORKER = """
import sys
from agentic_trading.telemetry.metrics import GatewayMetrics
requests, connected, inflight, backlog = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
metrics = GatewayMetrics()
for _ in range(requests):
    metrics.webhooks.labels("test", "200").inc()
    metrics.processing_duration.labels("test").observe(0.002)
metrics.nats_connected.set(connected)
metrics.inflight_publishes.set(inflight)
metrics.signal_backlog.set(backlog)
print("ready", flush=True)
sys.stdin.read()  # stays alive (its live gauges count) until the test closes stdin
"""


@contextmanager
def worker(directory: Path, requests: int, connected: int, inflight: int, backlog: float) -> Iterator[subprocess.Popen]:
    env = {**os.environ, MULTIPROC_ENV: str(directory)}
    args = [sys.executable, "-c", WORKER, str(requests), str(connected), str(inflight), str(backlog)]
    process = subprocess.Popen(args, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=10)


def scrape(directory: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(scrape_registry(directory)).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


WEBHOOKS_200 = ("gateway_webhooks_total", (("endpoint", "test"), ("status", "200")))
DURATION_COUNT = ("gateway_processing_duration_seconds_count", (("endpoint", "test"),))
DURATION_BUCKET_5MS = ("gateway_processing_duration_seconds_bucket", (("endpoint", "test"), ("le", "0.005")))


def test_two_workers_counters_and_histograms_add_up_and_gauges_aggregate_per_mode(tmp_path: Path):
    with worker(tmp_path, 7, 1, 3, 0.5), worker(tmp_path, 5, 0, 4, 1.5) as second:
        samples = scrape(tmp_path)
        assert samples[WEBHOOKS_200] == 12
        assert samples[DURATION_COUNT] == 12
        assert samples[DURATION_BUCKET_5MS] == 12
        assert samples[("gateway_inflight_publishes", ())] == 7  # livesum
        assert samples[("gateway_nats_connected", ())] == 0  # livemin: one worker is not connected
        assert samples[("gateway_signal_backlog_seconds", ())] == 1.5  # livemax
        assert connected_workers(tmp_path) == (1, 2)
        assert [dict(labels)["service"] for name, labels in samples if name == "agentic_trading_build_info"] == ["gateway"]

        stop(second)  # the disconnected worker exits: its counts stay, its gauges go
        samples = scrape(tmp_path)
        assert samples[WEBHOOKS_200] == 12
        assert samples[("gateway_nats_connected", ())] == 1
        assert samples[("gateway_inflight_publishes", ())] == 3
        assert samples[("gateway_signal_backlog_seconds", ())] == 0.5
        assert connected_workers(tmp_path) == (1, 1)
