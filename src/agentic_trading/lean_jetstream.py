"""A JetStream context whose publishes cost one write and one reply, nothing per publish besides.

Every service publishes on the hot path: the gateway each signal, an agent each opinion, the
orchestrator each decision. nats-py's ``publish`` is a request (a random token from
``secrets.token_hex``, a future and a ``wait_for`` timer per call) and its ``publish_async``
takes a semaphore through ``asyncio.wait_for`` (a task and a timer per call), draws a random
token too, and parses each acknowledgement with ``json`` into ``PubAck`` through its generic
field filter. :class:`LeanJetStream` is nats-py's ``JetStreamContext`` with those two methods
replaced: one reply subscription per connection, a counter for the token, ``orjson`` for the
acknowledgement, and in ``publish`` one timer on the future instead of ``wait_for``. Everything else
(consumers, fetches, stream management) is nats-py's own.

What stays the same: the results and the errors. An acknowledgement is a ``PubAck``; a
refusal raises ``APIError`` (``is_stream_full`` reads its description); no JetStream server
raises ``NoStreamResponseError``; ``publish`` without an answer in time raises
``nats.errors.TimeoutError`` (the message may still be stored: a retry is deduplicated by its
id). What is dropped: ``publish_async``'s window of at most 4,000 outstanding publishes; every
caller bounds its own (a batch of at most 64 or 128 messages, the gateway's in-flight cap).
"""

from __future__ import annotations

import asyncio
from typing import Any

import nats.errors
import orjson
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import PubAck
from nats.js.errors import APIError, NoStreamResponseError

_STATUS_HEADER = "Status"
_NO_RESPONDERS = "503"
# Futures whose acknowledgement never came (the caller gave up) are swept past this many.
_SWEEP_AT = 10_000


class LeanJetStream(JetStreamContext):
    """nats-py's JetStream context with lean ``publish`` and ``publish_async`` (module docstring)."""

    def __init__(self, conn: NATS, *, timeout: float = 5.0) -> None:
        super().__init__(conn, timeout=timeout)
        self._reply_prefix = conn.new_inbox() + "."
        self._reply_sub: Any = None
        self._acks: dict[str, asyncio.Future[PubAck]] = {}
        self._next_token = 0

    async def publish_async(  # type: ignore[override]
        self,
        subject: str,
        payload: bytes = b"",
        wait_stall: float | None = None,
        stream: str | None = None,
        headers: dict[str, str] | None = None,
        msg_ttl: float | None = None,
    ) -> asyncio.Future[PubAck]:
        """Send the publish now; the future is its ``PubAck`` or its error (``wait_stall`` is unused)."""
        if stream is not None or msg_ttl is not None:
            raise ValueError("LeanJetStream.publish_async does not take stream or msg_ttl; use nats-py's own")
        if self._reply_sub is None:
            await self._subscribe_replies()
        if len(self._acks) > _SWEEP_AT:
            self._acks = {token: f for token, f in self._acks.items() if not f.done()}
        self._next_token += 1
        token = str(self._next_token)
        future: asyncio.Future[PubAck] = asyncio.get_running_loop().create_future()
        self._acks[token] = future
        try:
            await self._nc.publish(subject, payload, reply=self._reply_prefix + token, headers=headers)
        except BaseException:
            del self._acks[token]
            raise
        return future

    async def publish(  # type: ignore[override]
        self,
        subject: str,
        payload: bytes = b"",
        timeout: float | None = None,
        stream: str | None = None,
        headers: dict[str, str] | None = None,
        msg_ttl: float | None = None,
    ) -> PubAck:
        """Publish and wait for JetStream's acknowledgement, like nats-py's ``publish``."""
        future = await self.publish_async(subject, payload, stream=stream, headers=headers, msg_ttl=msg_ttl)
        # One timer that fails the future, not asyncio.wait_for (a second future, a done-callback
        # and a timer per publish: ~3 % of the gateway at saturation). Cancelling the caller
        # cancels the future, as wait_for did.
        expiry = asyncio.get_running_loop().call_later(self._timeout if timeout is None else timeout, _expire, future)
        try:
            return await future
        finally:
            expiry.cancel()

    async def _subscribe_replies(self) -> None:
        sub = await self._nc.subscribe(self._reply_prefix + "*", cb=self._on_reply)
        if self._reply_sub is None:
            self._reply_sub = sub
            if isinstance(getattr(sub, "_pending_queue", None), asyncio.Queue):
                sub._pending_queue = _ReplySink(sub, self._settle)
        else:  # another publish subscribed while this one waited
            await sub.unsubscribe()

    async def _on_reply(self, msg: Msg) -> None:
        self._settle(msg)

    def _settle(self, msg: Msg) -> None:
        future = self._acks.pop(msg.subject[len(self._reply_prefix) :], None)
        if future is None or future.done():
            return  # a duplicate reply, or the caller gave up on it
        future_result(future, msg)


class _ReplySink:
    """Stands in for the reply subscription's queue: each acknowledgement settles its future as it is read.

    nats-py hands a subscription's messages to an ``asyncio.Queue`` that a task of its own
    empties, awaiting the callback once per message: a queue hand-over, a wake-up of that task
    and a coroutine per acknowledgement, about a thirtieth of the gateway's CPU at saturation
    (``docs/benchmarks.md``, "Fifth pass"). Settling a future needs none of it, so the reader
    settles it directly. nats-py counts the bytes queued per subscription (a slow consumer past
    its limit): they are uncounted here at once, since nothing stays queued. That task waits on
    :meth:`get` until the subscription ends.
    """

    def __init__(self, sub: Any, settle: Any) -> None:
        self._sub = sub
        self._settle = settle

    def put_nowait(self, msg: Msg) -> None:
        self._sub._pending_size -= len(msg.data)
        self._settle(msg)

    async def get(self) -> Msg:
        """What nats-py's task for the subscription awaits: nothing, until the subscription ends and cancels it."""
        return await asyncio.get_running_loop().create_future()

    def qsize(self) -> int:
        return 0

    def empty(self) -> bool:
        return True

    def task_done(self) -> None:
        """Nothing was queued."""

    async def join(self) -> None:
        """Nothing is ever queued: a drain has nothing to wait for."""


def _expire(future: asyncio.Future[PubAck]) -> None:
    if not future.done():
        future.set_exception(nats.errors.TimeoutError())


def future_result(future: asyncio.Future[PubAck], msg: Msg) -> None:
    """Settle ``future`` with what the acknowledgement ``msg`` says (as nats-py's would)."""
    if msg.headers and msg.headers.get(_STATUS_HEADER) == _NO_RESPONDERS:
        future.set_exception(NoStreamResponseError())
        return
    try:
        reply = orjson.loads(msg.data)
    except orjson.JSONDecodeError as exc:
        future.set_exception(nats.errors.Error(f"unreadable JetStream acknowledgement: {exc}"))
        return
    error = reply.get("error")
    if error is not None:
        future.set_exception(_api_error(error))
        return
    future.set_result(
        PubAck(stream=reply["stream"], seq=reply["seq"], domain=reply.get("domain"), duplicate=reply.get("duplicate"))
    )


def _api_error(error: dict[str, Any]) -> APIError:
    """The ``APIError`` subclass nats-py gives a refusal (its ``from_error`` raises it rather than returning it)."""
    try:
        APIError.from_error(error)
    except APIError as exc:
        return exc
    return APIError(**error)
