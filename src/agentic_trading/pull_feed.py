"""A durable pull consumer read as a feed: messages arrive as soon as they are stored, batches take what is there.

nats-py's ``fetch(batch, timeout)`` asks JetStream for a batch and waits for it; to get "what is
there now" the pipeline used to fetch one message (a lingering pull) and then top the batch up
with a second pull (``no_wait``, 5 ms expiry). On nats-server 2.9 a ``no_wait`` pull that also
carries an expiry is held as a lingering pull: with nothing else pending, every top-up waited
its whole 5 ms, and every batch cost two pull requests, a timer, a timeout exception and a
status message, whatever its size. At 200 signals/s almost every batch held one message, so
those fixed costs were paid per message in all six consumers: 8.8 ms of CPU per signal over all
programs at 200/s against 2.2 ms at 800/s, enough to make two cores queue at 200/s.

:class:`PullFeed` keeps pull requests outstanding instead. It asks for up to ``window``
messages in advance (a pull with a :data:`EXPIRES_S` expiry, renewed when half the window is
used), the server pushes each message to the feed's inbox as soon as it is stored, and
:meth:`PullFeed.take` hands out everything that has arrived, waiting only when nothing has.
The batch adapts by itself: one message at a trickle, many when the consumer runs behind.

Accounting (what keeps the window honest): ``credit`` is what was asked for and neither delivered
nor given back. A pull that expires before delivering its whole batch ends with a ``408`` status
carrying ``Nats-Pending-Messages`` (what it did not deliver), which is given back; a ``409``
(the consumer deleted, too many waiting pulls) ends pulls without saying how many, so the credit
is dropped to zero and asked for again. A pull the server forgot sends nothing (it
restarted; nats-server 2.9.10, Debian's, also drops a pull that expires while a message is being
delivered without its ``408``, fixed in nats-server#3942): once no pull can still be alive
(:data:`EXPIRES_S` plus :data:`LOST_AFTER_S` after the last was sent) the remaining credit is
written off and asked for again; a waiting :meth:`PullFeed.take` wakes for it. Messages
delivered and not yet taken plus credit never exceed ``window`` (apart from a short overshoot
after a ``409`` or a ``408`` later than the write-off), so a consumer that falls behind holds at
most about a window of unacknowledged messages, well inside ``ack_wait``.

Stored messages reach the feed through :mod:`agentic_trading.feed_delivery` (no nats-py queue,
task or header dict per message); status messages still come through :meth:`PullFeed._deliver`.

Exactly-once is untouched: every message is still acknowledged by the caller after its effect
is stored. :meth:`PullFeed.close` naks what was delivered but never taken, so it is redelivered
at once instead of after ``ack_wait``, but first lets the feed's outstanding pulls end (their
``408``, at most :data:`EXPIRES_S` plus :data:`LOST_AFTER_S` after the last was sent), and only
then unsubscribes. Unsubscribing at once was wrong on nats-server 2.9.10 (Debian's), read in its
``server/consumer.go``. A message the server hands to the feed's pull before it processes the
``UNSUB`` is dropped by the client (the subscription is already gone) and waits for
``ack_wait``. A pull whose inbox lost interest stays in the consumer's waiting queue until the
delivery loop next looks at it. Worse,
when the delivery loop takes a redelivery (a nak) while only such pulls wait, ``nextWaiting``
drops them and finds no taker, and the loop "redoes" the message by decrementing the stream
sequence: the naked message falls off the redelivery queue (back only after ``ack_wait``, 30 s)
and the last stored message is delivered again as a first delivery (nats-server#5305, fixed in
2.11.0). With the feed's pulls gone before the ``UNSUB`` and the naks, the waiting queue holds
no dead pull: a nak waits on the redelivery queue for the next feed's pull (a restarted
service's), or goes to another feed's live pull. The wait is bounded: about 1.3 s at most, none
when no pull is outstanding (``credit`` 0); messages that arrive during it are naked with the rest.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import nats.errors
import orjson
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from agentic_trading import feed_delivery
from agentic_trading.telemetry.logging import get_logger

log = get_logger(__name__)

# How long one pull request lives on the server; an idle feed renews it this often.
EXPIRES_S = 1.0
# A pull the server never answered is written off this long after it expired: the server restarted,
# or nats-server before 2.9.15 dropped it silently (a pull that expires just as a message is being
# delivered is removed without its 408: nats-server#3942). A late 408 after the write-off only
# lets the window overshoot until those pulls are used.
LOST_AFTER_S = 0.25
_STATUS = "Status"
_PENDING_MESSAGES = "Nats-Pending-Messages"
_TIMEOUT = "408"
_HEARTBEAT = "100"


class PullFeed:
    """Messages of one durable pull consumer, pushed as stored; see the module docstring."""

    def __init__(
        self,
        nc: NATS,
        stream: str,
        durable: str,
        *,
        window: int,
        api_prefix: str = "$JS.API",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if window < 2:
            raise ValueError(f"a feed needs a window of at least 2 messages, not {window}")
        self._nc = nc
        self._next_subject = f"{api_prefix}.CONSUMER.MSG.NEXT.{stream}.{durable}"
        self._inbox = nc.new_inbox()
        self.window = window
        self._clock = clock
        self._arrived: deque[Msg] = deque()
        self._wake = asyncio.Event()
        self._sub: Any = None
        self.credit = 0
        self._asked_at = 0.0
        self.pulls = 0  # pull requests sent (a test and a profile read it)
        self._closing = False  # close() began: ask for nothing more

    async def open(self) -> PullFeed:
        self._sub = await self._nc.subscribe(self._inbox, cb=self._deliver)
        # Stored messages skip nats-py's per-message queue and task (feed_delivery); status
        # messages (408, 409, heartbeats) still come through _deliver.
        feed_delivery.route(self._nc, self._sub._id, self._arrive)
        await self._top_up()
        return self

    async def take(self, limit: int, timeout: float) -> list[Msg]:
        """Every message that has arrived (at most ``limit``), waiting up to ``timeout`` for the first.

        While waiting it also wakes when the pulls it counts on must have ended (their expiry and
        :data:`LOST_AFTER_S`), so a pull that ended without its ``408`` is replaced then, not at
        the caller's next take. Raises ``nats.errors.TimeoutError`` when nothing came.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self._arrived:
            self._wake.clear()
            await self._top_up()
            left = deadline - loop.time()
            if left <= 0:
                raise nats.errors.TimeoutError
            if self.credit and self._nc.is_connected:
                left = min(left, max(0.001, self._asked_at + EXPIRES_S + LOST_AFTER_S - self._clock()))
            try:
                async with asyncio.timeout(left):
                    await self._wake.wait()
            except TimeoutError:
                continue
        arrived = self._arrived
        count = min(limit, len(arrived))
        batch = [arrived.popleft() for _ in range(count)]
        await self._top_up()
        return batch

    async def close(self) -> None:
        """Stop asking, let the outstanding pulls end, unsubscribe, and nak what was never taken.

        Waits (at most until the last pull's expiry plus :data:`LOST_AFTER_S`, about 1.3 s) for
        the pulls to end with their ``408``, so nothing is handed to an inbox nobody reads and the
        naks' redeliveries meet no pull of this feed (module docstring: nats-server 2.9.10 would
        park one of them until ``ack_wait``). Messages arriving meanwhile are naked with the rest.
        Returns at once when no pull is outstanding or the connection is gone.
        """
        self._closing = True
        lives_until = self._asked_at + EXPIRES_S + LOST_AFTER_S
        while self.credit and self._sub is not None and self._nc.is_connected:
            left = lives_until - self._clock()
            if left <= 0:
                break
            self._wake.clear()
            try:
                async with asyncio.timeout(left):
                    await self._wake.wait()
            except TimeoutError:
                break
        sub, self._sub = self._sub, None
        if sub is not None:
            try:
                await sub.unsubscribe()
            except Exception as exc:  # noqa: BLE001 - a closed connection: the server drops the pulls anyway
                log.warning("feed_unsubscribe_failed", error=f"{type(exc).__name__}: {exc}")
        left, self._arrived = list(self._arrived), deque()
        for msg in left:
            try:
                await msg.nak()
            except Exception as exc:  # noqa: BLE001 - not naked: JetStream redelivers after ack_wait
                log.warning("feed_nak_failed", error=f"{type(exc).__name__}: {exc}")
                break

    def _arrive(self, msg: Msg) -> None:
        self.credit = max(0, self.credit - 1)
        self._arrived.append(msg)
        self._wake.set()

    async def _deliver(self, msg: Msg) -> None:
        status = msg.headers.get(_STATUS) if msg.headers and not msg.data else None
        if status is None:
            self._arrive(msg)
            return
        if status == _HEARTBEAT:
            return
        pending = msg.headers.get(_PENDING_MESSAGES) if msg.headers else None
        if status == _TIMEOUT and pending is not None:
            self.credit = max(0, self.credit - int(pending))  # an expired pull gives back what it did not deliver
            self._wake.set()  # a closing feed waits for its pulls to end
        else:
            # A 409 (consumer deleted, too many waiting pulls …) ends pulls without saying how many.
            log.info("feed_pull_ended", status=status, description=msg.headers.get("Description") if msg.headers else None)
            self.credit = 0
        if self._sub is not None:
            await self._top_up()

    async def _top_up(self) -> None:
        """Ask for the rest of the window once half of it is used (or every pull may have been lost)."""
        if self._sub is None or self._closing or not self._nc.is_connected:
            return  # while reconnecting, pulls would pile up in the client's buffer: ask once back
        now = self._clock()
        if self.credit and now - self._asked_at > EXPIRES_S + LOST_AFTER_S:
            log.info("feed_pulls_lost", credit=self.credit)
            self.credit = 0  # nothing sent since then can still be alive on the server
        want = self.window - self.credit - len(self._arrived)
        if want * 2 < self.window and self.credit:
            return
        if want <= 0:
            return
        request = orjson.dumps({"batch": want, "expires": int(EXPIRES_S * 1e9)})
        await self._nc.publish(self._next_subject, request, reply=self._inbox)
        self.credit += want
        self._asked_at = now
        self.pulls += 1
