"""A feed's stored messages delivered without nats-py's per-message machinery, and acked in one write.

nats-py hands every message of a subscription through the same path: ``_process_msg`` parses its
headers into a dict, builds a ``Msg`` (a dataclass), puts it on the subscription's queue, and the
subscription's own task takes it off and awaits the callback. For a :class:`~agentic_trading.
pull_feed.PullFeed`, whose callback only appends the message to a deque, that was about 15 % of
the orchestrator's CPU and 10 % of an agent's at 900 signals/s (py-spy, docs/benchmarks.md "Sixth
pass"); the header dict alone 11 % of the orchestrator's, and nothing in the pipeline reads a
stored message's headers. Acknowledging cost a ``Client.publish`` each (subject validation, a
command built by an f-string, a flush check): 5 % more.

:func:`route` installs, once per connection, a wrapper around the client's ``_process_msg``: a
message for a routed subscription id that carries a payload (a stored message: JetStream's status
messages, ``408``, ``409``, heartbeats, have none) becomes a :class:`FeedMsg` handed straight to
the feed's sink. Everything else (status messages, other subscriptions) takes nats-py's own path,
unchanged. :class:`FeedMsg` is a nats-py ``Msg`` (same ``ack``/``nak``/``term``/``metadata``),
built without the dataclass constructor and with its headers parsed only if read.
:func:`ack_all` acknowledges a batch with one buffered command, as nats-py's ``Msg.ack`` would
one by one (same protocol line, same errors, same "already acknowledged" check).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from nats import errors
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

_ROUTES = "_agentic_trading_feed_routes"
_HEADER_LINE = len(b"NATS/1.0")  # raw headers start with it; a status message has " 408 ..." after it
_SPACE = ord(" ")


class FeedMsg(Msg):
    """A stored JetStream message of a feed: nats-py's ``Msg``, built lean; headers parsed if read."""

    def __init__(self, client: NATS, subject: bytes, reply: bytes, data: bytes, raw_headers: bytes | None, sid: int):
        # Not the dataclass __init__ (it is most of the cost); the same attributes.
        self._client = client
        self.subject = subject.decode()
        self.reply = reply.decode()
        self.data = data
        self._raw_headers = raw_headers
        self._raw_reply = reply
        self._metadata = None
        self._ackd = False
        self._sid = sid

    @property  # type: ignore[override]  # a dataclass field in Msg, computed on demand here
    def headers(self) -> dict[str, str] | None:
        raw = self._raw_headers
        if not raw or len(raw) <= _HEADER_LINE + 4:
            return None
        return self._client._parse_header_lines(raw[_HEADER_LINE + 2 :]) or None


def route(nc: NATS, sid: int, sink: Callable[[FeedMsg], None]) -> None:
    """Hand subscription ``sid``'s stored messages to ``sink`` as :class:`FeedMsg`, bypassing its queue."""
    routes: dict[int, Callable[[FeedMsg], None]] | None = getattr(nc, _ROUTES, None)
    if routes is None:
        routes = {}
        setattr(nc, _ROUTES, routes)
        original = nc._process_msg
        stats, subs = nc.stats, nc._subs

        async def process_msg(sid: int, subject: bytes, reply: bytes, data: bytes, headers: bytes | None) -> None:
            sink = routes.get(sid)
            if sink is not None and sid not in subs:
                del routes[sid]  # unsubscribed (PullFeed.close): nats-py drops what still comes
                sink = None
            if sink is None or not data or (headers and len(headers) > _HEADER_LINE and headers[_HEADER_LINE] == _SPACE):
                await original(sid, subject, reply, data, headers)
                return
            stats["in_msgs"] += 1
            stats["in_bytes"] += len(data)
            sink(FeedMsg(nc, subject, reply, data, headers, sid))

        nc._process_msg = process_msg  # type: ignore[method-assign]  # see the module docstring
    for gone in [s for s in routes if s not in nc._subs]:
        del routes[gone]  # feeds closed since (their unsubscribe does not tell us)
    routes[sid] = sink


def unroute(nc: NATS, sid: int) -> None:
    """Stop routing ``sid`` (its messages, if any still come, take nats-py's path)."""
    routes: dict[int, Any] | None = getattr(nc, _ROUTES, None)
    if routes is not None:
        routes.pop(sid, None)


async def ack_all(messages: Sequence[Any]) -> None:
    """Acknowledge every message, in order, with one buffered command per connection.

    Same wire effect and errors as awaiting ``msg.ack()`` for each: ``NotJSMessageError`` or
    ``MsgAlreadyAckdError`` before anything is sent, ``ConnectionClosedError`` on a closed
    connection, ``OutboundBufferLimitError`` when reconnecting with a full buffer. Messages that
    are not :class:`FeedMsg` (another source, a test's fake) are acknowledged one by one.
    """
    lean = [m for m in messages if isinstance(m, FeedMsg)]
    for msg in messages:
        if not isinstance(msg, FeedMsg):
            await msg.ack()
    for msg in lean:
        msg._check_reply()
    by_client: dict[int, list[FeedMsg]] = {}
    for msg in lean:
        by_client.setdefault(id(msg._client), []).append(msg)
    for batch in by_client.values():
        await _ack_batch(batch[0]._client, batch)


async def _ack_batch(nc: NATS, lean: list[FeedMsg]) -> None:
    if nc.is_closed:
        raise errors.ConnectionClosedError
    if nc.is_draining_pubs:
        raise errors.ConnectionDrainingError
    command = b"".join([b"PUB " + m._raw_reply + b" 0\r\n\r\n" for m in lean])
    if not nc.is_connected and (nc._max_pending_size <= 0 or len(command) + nc._pending_data_size > nc._max_pending_size):
        raise errors.OutboundBufferLimitError
    nc.stats["out_msgs"] += len(lean)
    await nc._send_command(command)
    if nc._flush_queue is not None and nc._flush_queue.empty():
        await nc._flush_pending()
    for msg in lean:
        msg._ackd = True
