"""NATS exporter: JetStream stream and consumer figures as Prometheus metrics.

``python -m agentic_trading.exporters.nats [--monitor-url URL]`` serves ``/metrics`` on
``settings.port("nats-exporter")``. Once a second it reads the nats-server monitoring
endpoint (``/jsz?streams=true&consumers=true`` and ``/varz``, 1 s timeout) and a custom
collector serves the latest answer, so a scrape never waits on NATS and never sees
figures older than a few seconds:

* ``nats_consumer_pending_messages{stream,consumer}``      num_pending
* ``nats_consumer_ack_pending_messages{stream,consumer}``  num_ack_pending
* ``nats_consumer_redelivered_messages_total{stream,consumer}``  see :class:`RedeliveryCounter`
* ``nats_stream_messages{stream}``, ``nats_stream_bytes{stream}``, ``nats_stream_max_bytes{stream}``
  (the limit at which a ``discard: new`` stream refuses publishes; absent when unlimited)
* ``nats_server_up``  1 while the latest poll succeeded (and is fresh), else 0
* ``nats_server_connections``  client connections (``/varz``)
* ``nats_exporter_scrape_errors_total``  polls of the monitoring endpoint that failed

While NATS is not answering only the last three are served: figures from the past
would hide the outage from the pending-message alerts.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from agentic_trading.exporters._polling import PolledCollector, PollState, serve_polled
from agentic_trading.exporters.jetstream import MonitorFormatError, NatsSnapshot, RedeliveryCounter, parse_snapshot
from agentic_trading.settings import Settings, load_settings
from agentic_trading.telemetry.logging import configure_logging, get_logger

SERVICE = "nats-exporter"
POLL_TIMEOUT_S = 1.0
JSZ_PATH = "/jsz?streams=true&consumers=true&config=true"
VARZ_PATH = "/varz"

log = get_logger(__name__)


@dataclass(frozen=True)
class NatsPoll:
    """One successful poll: the server's figures plus our running redelivery totals."""

    snapshot: NatsSnapshot
    redelivered_totals: dict[tuple[str, str], int]


class NatsMonitorPoller(PollState[NatsPoll]):
    """Reads the monitoring endpoint; keeps the latest good poll and counts the failed ones."""

    def __init__(self, monitor_url: str, client: httpx.AsyncClient, timeout_s: float = POLL_TIMEOUT_S):
        super().__init__()
        self.monitor_url = monitor_url.rstrip("/")
        self.client = client
        self.timeout_s = timeout_s
        self._redeliveries = RedeliveryCounter()

    async def poll_once(self) -> None:
        try:
            async with asyncio.timeout(self.timeout_s):  # both requests together
                jsz = await self._get_json(JSZ_PATH)
                varz = await self._get_json(VARZ_PATH)
            snapshot = parse_snapshot(jsz, varz)
        except (httpx.HTTPError, TimeoutError, ValueError) as exc:  # ValueError: bad JSON, MonitorFormatError
            self._record_failure(exc)
            return
        totals = {
            (c.stream, c.name): self._redeliveries.observe(c.stream, c.name, c.redelivered)
            for s in snapshot.streams
            for c in s.consumers
        }
        if self.succeeded(NatsPoll(snapshot, totals)):
            log.info("nats_monitor_reachable", url=self.monitor_url, streams=len(snapshot.streams))

    async def readiness(self) -> str | None:
        return self.unready_because(f"{self.monitor_url}{JSZ_PATH}")

    async def _get_json(self, path: str) -> object:
        response = await self.client.get(f"{self.monitor_url}{path}")
        response.raise_for_status()
        return response.json()

    def _record_failure(self, exc: Exception) -> None:
        detail = f"no answer within {self.timeout_s:.1f} s" if isinstance(exc, TimeoutError) else str(exc)
        hint = "is nats-server up with -m? (atctl status)"
        if isinstance(exc, MonitorFormatError):
            hint = "the monitoring endpoint answered an unexpected shape; which nats-server version is this?"
        self.log_failure(log, "nats_monitor_poll_failed", f"{type(exc).__name__}: {detail}", hint, url=self.monitor_url)


class NatsCollector(PolledCollector[NatsPoll]):
    """Serves the poller's latest figures at scrape time (custom: the label sets come and go with NATS)."""

    up_metric = ("nats_server_up", "1 while the NATS monitoring endpoint answers")
    errors_metric = ("nats_exporter_scrape_errors", "Polls of the NATS monitoring endpoint that failed")

    def figures(self, snapshot: NatsPoll | None) -> Iterator[Metric]:
        return _figure_families(snapshot)


def _figure_families(poll: NatsPoll | None) -> Iterator[Metric]:
    consumer_labels = ["stream", "consumer"]
    pending = GaugeMetricFamily(
        "nats_consumer_pending_messages", "Messages of the stream not yet delivered to the consumer", labels=consumer_labels
    )
    ack_pending = GaugeMetricFamily(
        "nats_consumer_ack_pending_messages", "Messages delivered and not yet acknowledged", labels=consumer_labels
    )
    redelivered = CounterMetricFamily(
        "nats_consumer_redelivered_messages",
        "Messages seen redelivered to the consumer (rises of num_redelivered between polls)",
        labels=consumer_labels,
    )
    messages = GaugeMetricFamily("nats_stream_messages", "Messages stored in the stream", labels=["stream"])
    size = GaugeMetricFamily("nats_stream_bytes", "Bytes stored in the stream", labels=["stream"])
    limit = GaugeMetricFamily(
        "nats_stream_max_bytes", "The stream's max_bytes: a discard-new stream refuses publishes there", labels=["stream"]
    )
    connections = GaugeMetricFamily("nats_server_connections", "Client connections to the NATS server")
    if poll is not None:
        # Summed by labels: two accounts may hold streams of the same name.
        per_consumer: dict[tuple[str, str], list[int]] = {}
        per_stream: dict[str, list[int]] = {}
        for stream in poll.snapshot.streams:
            figures = per_stream.setdefault(stream.name, [0, 0, 0])
            figures[0] += stream.messages
            figures[1] += stream.bytes
            figures[2] += stream.max_bytes
            for consumer in stream.consumers:
                key = (consumer.stream, consumer.name)
                cfig = per_consumer.setdefault(key, [0, 0, 0])
                cfig[0] += consumer.pending
                cfig[1] += consumer.ack_pending
                cfig[2] = poll.redelivered_totals.get(key, 0)
        for (stream_name, consumer_name), (n_pending, n_ack_pending, n_redelivered) in sorted(per_consumer.items()):
            labels = [stream_name, consumer_name]
            pending.add_metric(labels, n_pending)
            ack_pending.add_metric(labels, n_ack_pending)
            redelivered.add_metric(labels, n_redelivered)
        for stream_name, (n_messages, n_bytes, n_max_bytes) in sorted(per_stream.items()):
            messages.add_metric([stream_name], n_messages)
            size.add_metric([stream_name], n_bytes)
            if n_max_bytes:
                limit.add_metric([stream_name], n_max_bytes)
        connections.add_metric([], poll.snapshot.connections)
    yield from (pending, ack_pending, redelivered, messages, size, limit, connections)


async def serve(settings: Settings, monitor_url: str) -> None:
    """Poll ``monitor_url`` and serve ``/metrics`` until SIGTERM."""
    async with httpx.AsyncClient(timeout=POLL_TIMEOUT_S) as client:
        poller = NatsMonitorPoller(monitor_url, client)
        log.info("nats_exporter_polling", monitor_url=poller.monitor_url)
        await serve_polled(SERVICE, settings, poller, NatsCollector(poller), "nats-monitor")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m agentic_trading.exporters.nats",
        description="Export JetStream stream and consumer figures from the nats-server monitoring endpoint.",
    )
    parser.add_argument(
        "--monitor-url",
        help="nats-server monitoring base URL (default: this stack's, http://AT_HOST:<nats-monitor port>)",
    )
    args = parser.parse_args(argv)
    settings = load_settings()
    configure_logging(SERVICE, settings.log_level)
    asyncio.run(serve(settings, args.monitor_url or settings.url("nats-monitor")))


if __name__ == "__main__":
    main()
