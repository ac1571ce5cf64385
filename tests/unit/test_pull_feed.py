"""PullFeed against a real nats-server: messages as soon as stored, batches of what is there, a bounded window."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import nats
import nats.errors
import pytest
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig

from _support import async_poll_until
from agentic_trading import pull_feed
from agentic_trading.pull_feed import PullFeed

_names = itertools.count()


@dataclass
class Consumer:
    js: JetStreamContext
    stream: str
    durable: str
    subject: str

    async def publish(self, count: int, first: int = 0) -> None:
        for i in range(first, first + count):
            await self.js.publish(self.subject, str(i).encode())

    async def feed(self, window: int) -> PullFeed:
        return await PullFeed(self.js._nc, self.stream, self.durable, window=window).open()


@pytest.fixture
async def consumer(nats_server: Any) -> AsyncIterator[Consumer]:
    """A fresh stream and durable pull consumer (ack_wait 30 s: a prompt redelivery can only be a nak)."""
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    n = next(_names)
    stream, subject = f"FEED{n}", f"feed{n}.x"
    await js.add_stream(name=stream, subjects=[subject])
    await js.add_consumer(stream, ConsumerConfig(durable_name="reader", ack_policy=AckPolicy.EXPLICIT, ack_wait=30))
    try:
        yield Consumer(js, stream, "reader", subject)
    finally:
        await js.delete_stream(stream)
        await nc.close()


async def arrived(feed: PullFeed, count: int) -> None:
    await async_poll_until(lambda: len(feed._arrived) >= count, timeout_s=5, what=f"{count} messages delivered")


async def test_a_message_stored_while_the_feed_waits_is_handed_out(consumer: Consumer) -> None:
    feed = await consumer.feed(window=8)
    try:
        with pytest.raises(nats.errors.TimeoutError):
            await feed.take(8, timeout=0.05)  # nothing stored yet
        await consumer.publish(1)
        (msg,) = await feed.take(8, timeout=2)
        assert msg.data == b"0"
    finally:
        await feed.close()


async def test_a_batch_is_everything_there_now_up_to_the_limit(consumer: Consumer) -> None:
    feed = await consumer.feed(window=16)
    try:
        await consumer.publish(10)
        await arrived(feed, 10)
        first = await feed.take(4, timeout=1)
        rest = await feed.take(64, timeout=1)
        assert [m.data for m in first + rest] == [str(i).encode() for i in range(10)]
        assert len(first) == 4
    finally:
        await feed.close()


async def test_one_message_at_a_time_costs_a_pull_per_half_window_not_two_per_message(consumer: Consumer) -> None:
    feed = await consumer.feed(window=8)
    try:
        for _ in range(40):
            await consumer.publish(1)
            (msg,) = await feed.take(8, timeout=2)
            assert msg.data == b"0"
            await msg.ack()
        # The old fetch sent two pulls per batch (80 here); the feed renews half a window at a time.
        assert feed.pulls <= 40 // 4 + 2, feed.pulls
    finally:
        await feed.close()


async def test_a_feed_nobody_takes_from_holds_one_window_and_no_more(consumer: Consumer) -> None:
    feed = await consumer.feed(window=8)
    try:
        await consumer.publish(30)
        await arrived(feed, 8)
        assert (len(feed._arrived), feed.credit) == (8, 0)
        batch = await feed.take(8, timeout=1)
        assert len(batch) == 8
        await arrived(feed, 8)  # the next window comes once asked for
        assert len(feed._arrived) == 8
    finally:
        await feed.close()


# A restarted service's feed opens a moment after the old one closed (a new process connects).
_RESTART_GAP_S = 0.2
# Every message the closed feed held must reach the next feed this fast, not after ack_wait (30 s).
_BACK_WITHIN_S = 2.0


async def _next_feed_gets(consumer: Consumer, count: int) -> dict[bytes, int]:
    """What the next feed (opened after the restart gap) receives within :data:`_BACK_WITHIN_S`.

    Payload -> highest delivery count; the caller's assertion says which did not come.
    """
    await asyncio.sleep(_RESTART_GAP_S)
    feed = await consumer.feed(window=8)
    deliveries: dict[bytes, int] = {}
    deadline = time.monotonic() + _BACK_WITHIN_S
    try:
        while len(deliveries) < count and time.monotonic() < deadline:
            try:
                batch = await feed.take(16, timeout=max(0.01, deadline - time.monotonic()))
            except nats.errors.TimeoutError:
                break
            for m in batch:
                deliveries[m.data] = max(deliveries.get(m.data, 0), m.metadata.num_delivered)
                await m.ack()
    finally:
        await feed.close()
    return deliveries


async def test_closing_naks_what_was_delivered_but_never_taken(consumer: Consumer) -> None:
    # The closing feed still has a pull outstanding (8 asked, 5 delivered). nats-server 2.9.10
    # loses the first nak's redelivery to ack_wait if, when it runs, only that pull (its inbox
    # unsubscribed) is waiting (see pull_feed's docstring): this failed on every run before the fix.
    feed = await consumer.feed(window=8)
    await consumer.publish(5)
    await arrived(feed, 5)
    assert feed.credit == 3
    await feed.close()
    deliveries = await _next_feed_gets(consumer, 5)
    assert sorted(deliveries) == [str(i).encode() for i in range(5)]
    assert set(deliveries.values()) == {2}  # each one naked by the closed feed, none delivered anew


async def test_what_reaches_a_closing_feed_is_naked_too(consumer: Consumer) -> None:
    # Messages stored while close() waits for the feed's pulls to end are delivered to those pulls;
    # they must come back as promptly as the ones delivered before.
    feed = await consumer.feed(window=8)
    await consumer.publish(2)
    await arrived(feed, 2)
    closing = asyncio.create_task(feed.close())
    await consumer.publish(3, first=2)
    await closing
    deliveries = await _next_feed_gets(consumer, 5)
    assert sorted(deliveries) == [str(i).encode() for i in range(5)]


async def test_closing_a_feed_with_no_pull_outstanding_returns_at_once(consumer: Consumer) -> None:
    feed = await consumer.feed(window=8)
    await consumer.publish(8)
    await arrived(feed, 8)
    assert feed.credit == 0
    started = time.monotonic()
    await feed.close()
    assert time.monotonic() - started < 0.5  # the nak of eight messages; waiting for a pull would take 1 s


async def test_closing_waits_for_its_pulls_and_no_longer_than_they_can_live(consumer: Consumer) -> None:
    feed = await consumer.feed(window=8)
    assert feed.credit == 8
    started = time.monotonic()
    await feed.close()
    took = time.monotonic() - started
    # Ended by the pull's 408 (1 s after it was sent, just before `started`) or, if that is late
    # on a busy machine, by the write-off 0.25 s later; the margin is for a slow event loop.
    assert pull_feed.EXPIRES_S / 2 <= took <= pull_feed.EXPIRES_S + pull_feed.LOST_AFTER_S + 0.5, took


async def test_pulls_that_expire_are_renewed_and_give_their_credit_back(
    consumer: Consumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pull_feed, "EXPIRES_S", 0.1)
    feed = await consumer.feed(window=8)
    try:
        await async_poll_until(lambda: feed.pulls >= 3, timeout_s=5, what="expired pulls renewed")
        assert feed.credit == 8  # each 408 gave back what its pull had not delivered
        await consumer.publish(1)
        assert len(await feed.take(8, timeout=2)) == 1
    finally:
        await feed.close()


async def test_a_deleted_and_recreated_consumer_is_read_again(consumer: Consumer, monkeypatch: pytest.MonkeyPatch) -> None:
    # The 409 that ends the pulls comes at the delete: the pull asked for in answer can reach
    # the server before the consumer is back and be dropped unanswered, so the feed must also
    # write off pulls it never hears of again.
    monkeypatch.setattr(pull_feed, "EXPIRES_S", 0.2)
    monkeypatch.setattr(pull_feed, "LOST_AFTER_S", 0.2)
    feed = await consumer.feed(window=8)
    try:
        await consumer.js.delete_consumer(consumer.stream, consumer.durable)
        config = ConsumerConfig(durable_name=consumer.durable, ack_policy=AckPolicy.EXPLICIT, ack_wait=30)
        await consumer.js.add_consumer(consumer.stream, config)
        await consumer.publish(1)
        batch = await async_poll_until(lambda: _take_or_none(feed), timeout_s=3, what="the message after the recreate")
        assert [m.data for m in batch] == [b"0"]
    finally:
        await feed.close()


async def _take_or_none(feed: PullFeed) -> list[Any] | None:
    """One take as a consumer loop makes it (a short wait), None when nothing came."""
    try:
        return await feed.take(8, timeout=0.1)
    except nats.errors.TimeoutError:
        return None


class _Silent:
    """A connection whose server never answers: pulls go out and are never heard of again."""

    def __init__(self) -> None:
        self.pulls: list[bytes] = []
        self.is_connected = True
        # What feed_delivery.route wraps: the subscription's id, the client's table and stats.
        self._id = 1
        self._subs: dict[int, Any] = {1: self}
        self.stats: dict[str, int] = {"in_msgs": 0, "in_bytes": 0}

    async def _process_msg(self, sid: int, subject: bytes, reply: bytes, data: bytes, headers: bytes | None) -> None:
        return None

    def new_inbox(self) -> str:
        return "_INBOX.test"

    async def subscribe(self, subject: str, cb: Any) -> Any:
        return self

    async def unsubscribe(self) -> None:
        return None

    async def publish(self, subject: str, payload: bytes, reply: str) -> None:
        self.pulls.append(payload)


async def test_pulls_the_server_forgot_are_written_off_once_none_can_be_alive() -> None:
    now = [100.0]
    nc = _Silent()
    feed = await PullFeed(nc, "S", "d", window=8, clock=lambda: now[0]).open()  # type: ignore[arg-type]
    assert (len(nc.pulls), feed.credit) == (1, 8)
    with pytest.raises(nats.errors.TimeoutError):
        await feed.take(8, timeout=0.01)
    assert len(nc.pulls) == 1  # still within the pull's life: nothing to ask
    now[0] += pull_feed.EXPIRES_S + pull_feed.LOST_AFTER_S + 0.1
    with pytest.raises(nats.errors.TimeoutError):
        await feed.take(8, timeout=0.01)
    assert (len(nc.pulls), feed.credit) == (2, 8)


async def test_a_waiting_take_replaces_pulls_that_ended_unanswered(monkeypatch: pytest.MonkeyPatch) -> None:
    # nats-server 2.9.10 can drop an expiring pull without its 408 (nats-server#3942): a feed
    # waiting in take() must not sit out the caller's whole timeout on credit nobody will honour.
    monkeypatch.setattr(pull_feed, "EXPIRES_S", 0.05)
    monkeypatch.setattr(pull_feed, "LOST_AFTER_S", 0.05)
    nc = _Silent()
    feed = await PullFeed(nc, "S", "d", window=8).open()  # type: ignore[arg-type]
    with pytest.raises(nats.errors.TimeoutError):
        await feed.take(8, timeout=0.5)
    assert len(nc.pulls) >= 3  # asked again about every 0.1 s while waiting


async def test_no_pull_is_asked_while_the_connection_is_down() -> None:
    now = [100.0]
    nc = _Silent()
    feed = await PullFeed(nc, "S", "d", window=8, clock=lambda: now[0]).open()  # type: ignore[arg-type]
    nc.is_connected = False
    now[0] += pull_feed.EXPIRES_S + pull_feed.LOST_AFTER_S + 0.1
    with pytest.raises(nats.errors.TimeoutError):
        await feed.take(8, timeout=0.01)
    assert len(nc.pulls) == 1  # not buffered for the reconnect, where they would all arrive at once
    nc.is_connected = True
    with pytest.raises(nats.errors.TimeoutError):
        await feed.take(8, timeout=0.01)
    assert (len(nc.pulls), feed.credit) == (2, 8)
