"""The exporters' shared rhythm: poll a source every interval until stopped, serve only fresh snapshots."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from agentic_trading.service.http import ServiceApp
from agentic_trading.service.runtime import run_service
from agentic_trading.settings import Settings

T = TypeVar("T")

POLL_INTERVAL_S = 1.0
# A snapshot older than this is not served: the poll loop is stuck or its source gone.
STALE_AFTER_S = 5.0


@dataclass(frozen=True)
class Latest(Generic[T]):
    """The latest snapshot a poll produced, with the monotonic time it was taken."""

    value: T
    taken_at: float

    def fresh(self, now: float | None = None, max_age_s: float = STALE_AFTER_S) -> bool:
        return ((time.monotonic() if now is None else now) - self.taken_at) <= max_age_s


async def poll_until_stopped(
    poll_once: Callable[[], Awaitable[None]], stop: asyncio.Event, interval_s: float = POLL_INTERVAL_S
) -> None:
    """Call ``poll_once`` every ``interval_s`` (start to start) until ``stop`` is set."""
    while not stop.is_set():
        started = time.monotonic()
        await poll_once()
        remaining = interval_s - (time.monotonic() - started)
        if remaining > 0 and await _stopped_within(stop, remaining):
            return


class Poller(Protocol):
    async def poll_once(self) -> None: ...

    async def readiness(self) -> str | None: ...


async def serve_polled(service: str, settings: Settings, poller: Poller, collector: Collector, source: str) -> None:
    """Serve ``collector`` on ``/metrics`` of the service's port and poll until SIGTERM.

    The service is ready while ``source`` (what ``poller`` reads) answers.
    """
    registry = CollectorRegistry()
    registry.register(collector)
    app = ServiceApp(service, registry, readiness={source: poller.readiness})
    port = settings.port(service)
    await run_service(service, app, settings.host, port, lambda stop: poll_until_stopped(poller.poll_once, stop))


async def _stopped_within(stop: asyncio.Event, seconds: float) -> bool:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return False
    return True


class PollState(Generic[T]):
    """What a poller knows of its source: the latest good snapshot, the last poll's fate, failures.

    Both exporters' pollers share it, so "up", staleness and warn-once logging mean the same.
    """

    def __init__(self) -> None:
        self.latest: Latest[T] | None = None
        self.last_poll_ok = False
        self.last_error: str | None = None
        self.scrape_errors = 0

    def succeeded(self, value: T) -> bool:
        """Keep the snapshot; True when the source was down (or never polled) until now."""
        came_back = not self.last_poll_ok
        self.latest = Latest(value, taken_at=time.monotonic())
        self.last_poll_ok = True
        self.last_error = None
        return came_back

    def failed(self, error: str) -> bool:
        """Count a failed poll; True when it is news (the first ever, or the first since it was up).

        Callers warn on news and log the rest at debug: one line a second would bury the logs.
        """
        self.scrape_errors += 1
        self.last_error = error
        news = self.last_poll_ok or self.scrape_errors == 1
        self.last_poll_ok = False
        return news

    def is_up(self) -> bool:
        """The latest poll succeeded and is recent enough to serve."""
        return self.last_poll_ok and self.latest is not None and self.latest.fresh()

    def log_failure(self, logger: Any, event: str, error: str, hint: str, **where: object) -> None:
        """Count a failed poll (:meth:`failed`) and log it: a warning with ``hint`` when it is news."""
        if self.failed(error):
            logger.warning(event, **where, error=self.last_error, hint=hint)
        else:  # already reported when it went down; one line per second would bury the logs
            logger.debug(event, **where, error=self.last_error)

    def unready_because(self, source: str) -> str | None:
        """None while up; else why not, for ``/readyz``: no fresh answer from ``source``."""
        if self.is_up():
            return None
        return f"no fresh answer from {source}: {self.last_error or 'not polled yet'}"


class PolledCollector(Collector, Generic[T]):
    """Serves, at scrape time, a poller's up gauge, its failed polls and the latest snapshot's figures.

    A stale snapshot is not served: :meth:`figures` gets None while the source is down.
    """

    up_metric: tuple[str, str]  # name, help
    errors_metric: tuple[str, str]

    def __init__(self, poller: PollState[T]):
        self.poller = poller

    def collect(self) -> Iterator[Metric]:
        up = self.poller.is_up()
        yield GaugeMetricFamily(*self.up_metric, value=int(up))
        yield CounterMetricFamily(*self.errors_metric, value=self.poller.scrape_errors)
        latest = self.poller.latest
        yield from self.figures(latest.value if up and latest is not None else None)

    def figures(self, snapshot: T | None) -> Iterator[Metric]:
        raise NotImplementedError
