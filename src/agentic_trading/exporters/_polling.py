"""The exporters' shared rhythm: poll a source every interval until stopped, serve only fresh snapshots."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

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
