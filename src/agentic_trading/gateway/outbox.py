"""The accepted signals' log lines, written once per turn of the event loop, before the answers they describe.

Every stored signal has one ``signal_accepted`` line, and it must be in the log file before
the client has its 200: a client that traces the signal at once finds it, and the decision
can never be logged before it (``publish.py``). Writing each line at once cost a ``write``, an
``fstat`` and the log file's lock and event per webhook, about a twentieth of the gateway's
CPU at saturation (``docs/benchmarks.md``, "Fifth pass"). At saturation the JetStream
acknowledgements of many webhooks arrive in one socket read and their handlers run in the
same turn of the loop, so the lines of that turn are written together with one call, and
the answers finished meanwhile wait for that write:

* :meth:`LineOutbox.add` queues a line and asks the loop to :meth:`~LineOutbox.flush` at its
  next turn (once, however many lines follow);
* the gateway's protocol (``protocol.py``) hands a finished answer to :meth:`~LineOutbox.hold`
  while lines are queued, instead of writing it;
* :meth:`~LineOutbox.flush` writes the lines, then releases the answers, in the order they were
  held. An answer that must go out sooner (its connection is closing) calls ``flush`` itself.

One outbox per process (:data:`OUTBOX`): the lines go to the process's one log file.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from agentic_trading.telemetry.logging import LoggedSignal, SignalLines


class LineOutbox:
    """Per-signal lines queued for one write, and the answers waiting for it (module docstring)."""

    def __init__(self) -> None:
        self._lines = SignalLines()
        self._queued = 0
        self._held: list[Callable[[], None]] = []
        self._scheduled = False

    @property
    def pending(self) -> bool:
        """True while lines wait to be written: an answer finished now must wait for them."""
        return self._queued > 0

    def add(self, event: str, signal: LoggedSignal, **fields: Any) -> None:
        """Queue a line about ``signal``; it is written at the loop's next turn, before any answer held meanwhile."""
        self._lines.signal(event, signal, **fields)
        self._queued += 1
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)

    def hold(self, release: Callable[[], None]) -> None:
        """Call ``release`` (which writes an answer) right after the queued lines are written."""
        self._held.append(release)

    def flush(self) -> None:
        """Write the queued lines with one call, then release the answers held for them, in order."""
        self._scheduled = False
        self._queued = 0
        held, self._held = self._held, []
        try:
            self._lines.flush()
        finally:  # the signals are stored whatever the log file said: their answers go out
            for release in held:
                release()


OUTBOX = LineOutbox()
