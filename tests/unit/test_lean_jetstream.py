"""LeanJetStream reads JetStream's acknowledgements as nats-py does: same results, same errors.

The publishes themselves run against a real nats-server in every integration test (the
gateway, the agents and the orchestrator all publish through it); these pin the reading of
each kind of reply, which the pipeline only meets when something goes wrong.
"""

from __future__ import annotations

import asyncio
import time

import nats
import nats.errors
import orjson
import pytest
from nats.aio.msg import Msg
from nats.js.api import PubAck
from nats.js.errors import APIError, NoStreamResponseError

from agentic_trading import bus
from agentic_trading.lean_jetstream import LeanJetStream, future_result


def _reply(data: bytes, headers: dict[str, str] | None = None) -> Msg:
    return Msg(_client=None, subject="_INBOX.x.1", data=data, headers=headers)  # type: ignore[arg-type]


async def _settled(msg: Msg) -> asyncio.Future[PubAck]:
    future: asyncio.Future[PubAck] = asyncio.get_running_loop().create_future()
    future_result(future, msg)
    assert future.done()
    return future


async def test_an_acknowledgement_is_a_pub_ack_with_its_sequence_and_duplicate_flag() -> None:
    ack = (await _settled(_reply(b'{"stream":"SIGNALS","seq":42}'))).result()
    assert (ack.stream, ack.seq, ack.duplicate) == ("SIGNALS", 42, None)
    again = (await _settled(_reply(b'{"stream":"SIGNALS","seq":42,"duplicate":true}'))).result()
    assert again.duplicate is True


async def test_a_full_stream_is_an_api_error_the_gateway_recognises_as_full() -> None:
    error = {"code": 503, "err_code": 10077, "description": "maximum bytes exceeded"}
    future = await _settled(_reply(orjson.dumps({"error": error})))
    exc = future.exception()
    assert isinstance(exc, APIError)
    assert bus.is_stream_full(exc)
    assert isinstance(exc, bus.NOT_SENT_ERRORS)  # answered "not stored", never "outcome unknown"


async def test_no_jetstream_behind_the_subject_is_no_stream_response() -> None:
    future = await _settled(_reply(b"", headers={"Status": "503"}))
    assert isinstance(future.exception(), NoStreamResponseError)


async def test_an_unreadable_reply_is_an_error_not_a_crash_of_the_reader() -> None:
    future = await _settled(_reply(b"not json"))
    with pytest.raises(Exception, match="unreadable JetStream acknowledgement"):
        future.result()


async def test_a_publish_nobody_acknowledges_times_out_and_leaves_no_timer(nats_server) -> None:
    # A core subscriber takes the message and never answers, as a stalled JetStream would.
    nc = await nats.connect(nats_server.url)
    try:
        await nc.subscribe("stalled.>")
        js = LeanJetStream(nc, timeout=5.0)
        started = time.monotonic()
        with pytest.raises(nats.errors.TimeoutError):
            await js.publish("stalled.x", b"{}", timeout=0.2)
        assert 0.15 < time.monotonic() - started < 3.0
        # A caller that gives up (a client disconnecting) cancels the wait; no timer fires later.
        task = asyncio.create_task(js.publish("stalled.y", b"{}", timeout=0.3))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert all(future.done() for future in js._acks.values())
    finally:
        await nc.close()


async def test_replies_settle_as_they_are_read_and_nothing_stays_counted_as_queued(nats_server) -> None:
    # The reply subscription's queue is bypassed (_ReplySink): every acknowledgement still arrives,
    # and nats-py's per-subscription byte count (slow-consumer limit) does not grow with each one.
    nc = await nats.connect(nats_server.url)
    try:

        async def acknowledge(msg: Msg) -> None:  # as JetStream would: the sequence is the subject's number
            await msg.respond(b'{"stream":"S","seq":%s}' % msg.subject[5:].encode())

        await nc.subscribe("echo.>", cb=acknowledge)
        js = LeanJetStream(nc, timeout=5.0)
        acks = await asyncio.gather(*(js.publish(f"echo.{n}", b"{}") for n in range(200)))
        assert [ack.seq for ack in acks] == list(range(200))
        assert type(js._reply_sub._pending_queue).__name__ == "_ReplySink"
        assert js._reply_sub._pending_size == 0
        assert not js._acks
        await nc.drain()  # a drain waits on the queue: it must not hang
    finally:
        if not nc.is_closed:
            await nc.close()
