"""feed_delivery against a real nats-server: a feed's stored messages as nats-py would give them, acked in one write."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from typing import Any

import nats
import nats.errors
import pytest
from nats.aio.msg import Msg
from nats.errors import MsgAlreadyAckdError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig

from _support import async_poll_until
from agentic_trading import feed_delivery
from agentic_trading.feed_delivery import FeedMsg
from agentic_trading.pull_feed import PullFeed

_names = itertools.count()


@pytest.fixture
async def js(nats_server: Any) -> AsyncIterator[tuple[JetStreamContext, str, str]]:
    """A connection, a fresh stream and its durable pull consumer ``reader`` (ack_wait 30 s)."""
    nc = await nats.connect(nats_server.url)
    context = nc.jetstream()
    n = next(_names)
    stream, subject = f"DELIVERY{n}", f"delivery{n}.x"
    await context.add_stream(name=stream, subjects=[subject])
    await context.add_consumer(stream, ConsumerConfig(durable_name="reader", ack_policy=AckPolicy.EXPLICIT, ack_wait=30))
    try:
        yield context, stream, subject
    finally:
        await context.delete_stream(stream)
        await nc.close()


async def test_a_stored_message_reads_as_nats_py_would_give_it(js: tuple[JetStreamContext, str, str]) -> None:
    context, stream, subject = js
    await context.publish(subject, b"payload", headers={"Nats-Msg-Id": "sig-1", "X-Correlation-ID": "corr-1"})
    feed = await PullFeed(context._nc, stream, "reader", window=4).open()
    try:
        (msg,) = await feed.take(4, timeout=2)
    finally:
        await feed.close()
    assert isinstance(msg, FeedMsg) and isinstance(msg, Msg)
    assert (msg.subject, msg.data) == (subject, b"payload")
    assert msg.reply.startswith(f"$JS.ACK.{stream}.reader.")
    assert msg.headers == {"Nats-Msg-Id": "sig-1", "X-Correlation-ID": "corr-1"}
    assert (msg.metadata.sequence.stream, msg.metadata.num_delivered) == (1, 1)


async def test_one_ack_all_acknowledges_the_batch_and_nothing_is_redelivered(js: tuple[JetStreamContext, str, str]) -> None:
    context, stream, subject = js
    for i in range(5):
        await context.publish(subject, str(i).encode())
    feed = await PullFeed(context._nc, stream, "reader", window=8).open()
    try:
        await async_poll_until(lambda: len(feed._arrived) == 5, timeout_s=5, what="5 messages delivered")
        batch = await feed.take(8, timeout=1)
        sent_before = context._nc.stats["out_msgs"]
        await feed_delivery.ack_all(batch)
        assert context._nc.stats["out_msgs"] - sent_before == 5
        assert all(m._ackd for m in batch)

        async def acked() -> bool:
            info = await context.consumer_info(stream, "reader")
            return info.num_ack_pending == 0 and info.ack_floor.stream_seq == 5

        await async_poll_until(acked, timeout_s=5, what="the server to record all five acks")
        with pytest.raises(MsgAlreadyAckdError):
            await feed_delivery.ack_all(batch[:1])  # as msg.ack() twice would
    finally:
        await feed.close()


async def test_ack_all_on_a_closed_connection_raises_and_marks_nothing(
    js: tuple[JetStreamContext, str, str], nats_server: Any
) -> None:
    context, stream, subject = js
    await context.publish(subject, b"x")
    own = await nats.connect(nats_server.url)  # closed below; the fixture's stays open for its cleanup
    feed = await PullFeed(own, stream, "reader", window=4).open()
    (msg,) = await feed.take(4, timeout=2)
    await own.close()
    with pytest.raises(nats.errors.ConnectionClosedError):
        await feed_delivery.ack_all([msg])
    assert not msg._ackd


async def test_other_subscriptions_and_an_unsubscribed_feed_take_nats_pys_own_path(
    js: tuple[JetStreamContext, str, str],
) -> None:
    context, stream, _ = js
    nc = context._nc
    feed = await PullFeed(nc, stream, "reader", window=4).open()
    sid = feed._sub._id
    got: list[Msg] = []

    async def keep(msg: Msg) -> None:
        got.append(msg)

    plain = await nc.subscribe("plain.subject", cb=keep)
    await nc.publish("plain.subject", b"hello", headers={"A": "b"})
    await async_poll_until(lambda: len(got) == 1, timeout_s=5, what="the plain subscription's message")
    assert type(got[0]) is Msg and got[0].headers == {"A": "b"}
    await plain.unsubscribe()
    await feed.close()
    await nc.publish(feed._inbox, b"late")  # the closed feed's inbox: no subscription, dropped as before
    await nc.flush()
    assert not feed._arrived
    second = await PullFeed(nc, stream, "reader", window=4).open()
    try:
        routes = getattr(nc, feed_delivery._ROUTES)
        assert sid not in routes and second._sub._id in routes  # the closed feed's route is gone
    finally:
        await second.close()
