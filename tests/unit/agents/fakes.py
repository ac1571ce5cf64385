"""Stand-ins for JetStream messages, the JetStream context and a pull subscription."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import nats.errors
import orjson

from agentic_trading.opinions import Opinion
from agentic_trading.signals import Signal


class FakeMsg:
    def __init__(self, data: bytes, subject: str = "signals.EURUSD"):
        self.data = data
        self.subject = subject
        self.settled: list[tuple[str, Any]] = []

    @classmethod
    def of(cls, signal: Signal) -> FakeMsg:
        return cls(signal.to_json(), f"signals.{signal.subject_token}")

    async def ack(self) -> None:
        self.settled.append(("ack", None))

    async def nak(self, delay: float | None = None) -> None:
        self.settled.append(("nak", delay))

    async def term(self) -> None:
        self.settled.append(("term", None))


class FakeJetStream:
    """Records publishes; raises for signal ids listed in ``fail_for``."""

    def __init__(self, fail_for: Sequence[str] = ()):
        self.fail_for = set(fail_for)
        self.published: list[dict[str, Any]] = []

    async def publish_async(
        self, subject: str, payload: bytes, wait_stall: float, headers: dict[str, str]
    ) -> asyncio.Future[None]:
        """Like nats-py: the publish is sent now, its acknowledgement (or error) is a future."""
        opinion = Opinion.from_json(payload)
        ack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if opinion.signal_id in self.fail_for:
            ack.set_exception(nats.errors.TimeoutError())
        else:
            self.published.append({"subject": subject, "opinion": opinion, "timeout": wait_stall, "headers": headers})
            ack.set_result(None)
        return ack

    def opinions(self) -> list[Opinion]:
        return [p["opinion"] for p in self.published]


class FakeFeed:
    """A ``PullFeed`` handing out the given batches (an exception instead of a batch is raised), then setting ``stop``."""

    def __init__(self, batches: Sequence[Any], stop: asyncio.Event):
        self.batches = list(batches)
        self.stop = stop
        self.takes = 0
        self.closed = False

    async def close(self) -> None:
        self.closed = True

    async def take(self, limit: int, timeout: float) -> list[FakeMsg]:
        self.takes += 1
        if not self.batches:
            self.stop.set()
            raise nats.errors.TimeoutError
        item = self.batches.pop(0)
        if isinstance(item, BaseException):
            raise item
        if len(item) > limit:  # like the feed: at most `limit`, the rest stays for the next take
            self.batches.insert(0, item[limit:])
            item = item[:limit]
        return item


def garbage() -> FakeMsg:
    return FakeMsg(orjson.dumps({"not": "a signal"}))
