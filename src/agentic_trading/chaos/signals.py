"""Signals flowing through the pipeline during an experiment, and the proof none was lost or doubled.

:class:`SignalFlow` sends fresh signals to the gateway at a fixed rate (open model: each
on its own schedule, whatever the answers) and records every answer. Meanwhile an ordered
consumer on the DECISIONS stream, started before the first signal, counts decisions per
``signal_id``. :meth:`SignalFlow.settle` then waits until every signal the gateway answered
200 has a decision, and reports any decided twice.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

import httpx
import nats
import orjson
from nats.js.api import ConsumerConfig, DeliverPolicy

from agentic_trading.bus import DECISIONS_STREAM, STREAM_SUBJECTS
from agentic_trading.chaos._loop import BackgroundLoop
from agentic_trading.chaos.errors import ChaosError
from agentic_trading.credentials import ADMIN, nats_credentials
from agentic_trading.load.payloads import SignalFactory
from agentic_trading.settings import Settings

WEBHOOK_PATH = "/webhook/tradingview"
REQUEST_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Answer:
    """One webhook sent: when (Unix seconds), the HTTP status (None: no answer) and how long it took.

    ``signal_id`` is the gateway's id for it, from a 200 and from a 503 alike; ``error`` is a
    refusal's kind (``outcome_unknown``: it may be stored; any other: it was not).
    """

    sent_at: float
    status: int | None
    elapsed_s: float
    signal_id: str | None
    error: str | None = None


@dataclass
class Settlement:
    accepted: list[str]
    decided: Counter[str]
    lost: list[str] = field(default_factory=list)
    twice: list[str] = field(default_factory=list)

    @property
    def decided_once(self) -> int:
        return sum(1 for s in self.accepted if self.decided.get(s) == 1)


class SignalFlow:
    """Fresh signals at ``per_s`` until :meth:`stop`; decisions counted from the moment it starts."""

    def __init__(self, settings: Settings, loop: BackgroundLoop, per_s: float, *, tag: str = "chaos"):
        if per_s <= 0:
            raise ChaosError(f"a signal flow needs a positive rate, got {per_s}")
        self.settings = settings
        self.loop = loop
        self.per_s = per_s
        self.tag = tag
        self.answers: list[Answer] = []
        self.sent_at: list[float] = []  # every request, answered or not yet
        self.held = False  # while True, scheduled sends are skipped (see hold())
        self.bursts_running = 0
        self.bus_errors = 0
        self.decided: Counter[str] = Counter()
        self.decisions: dict[str, dict[str, object]] = {}  # signal_id -> its (last) decision
        self._stopping = asyncio.Event()
        self._sender: object | None = None
        self._nc: nats.NATS | None = None
        self._ready = False

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self.watch_decisions()
        self._sender = self.loop.spawn(self._send_until_stopped())

    def watch_decisions(self) -> None:
        """Count decisions from now on (``start`` does it; a burst-only user calls it alone)."""
        if self._nc is None:
            self.loop.run(self._subscribe_decisions(), timeout=15)

    def stop(self) -> None:
        """Stop sending (in-flight requests finish); decisions keep being counted until :meth:`close`."""
        if self._sender is None:
            return
        self.loop.loop.call_soon_threadsafe(self._stopping.set)
        self._sender.result(REQUEST_TIMEOUT_S + 10)  # type: ignore[attr-defined]
        self._sender = None

    def burst(self, count: int, concurrency: int, payload: dict[str, object] | None = None) -> int:
        """Send ``count`` signals, ``concurrency`` at a time, now; return how many got 200.

        Fresh, distinct signals by default; ``payload``: that very payload every time (without a
        timestamp, the gateway gives each its own id, as for the specification's load test).
        """
        before = len(self.accepted)
        self.loop.run(self._burst(count, concurrency, payload), timeout=REQUEST_TIMEOUT_S * (count / concurrency + 1))
        return len(self.accepted) - before

    def close(self) -> None:
        self.stop()
        if self._nc is not None:
            self.loop.run(self._nc.close(), timeout=10)
            self._nc = None

    @property
    def in_flight(self) -> int:
        return len(self.sent_at) - len(self.answers)

    @contextmanager
    def held_back(self, drain_s: float = 5.0) -> Iterator[None]:
        """Send nothing inside the block, and enter it only once no request is in flight (or ``drain_s``).

        For an experiment's own set-up that cuts a connection (a reroute): a publish in flight on
        the cut connection would fail because of the experiment, not because of the fault.
        """
        self.held = True
        deadline = time.monotonic() + drain_s
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.02)
        try:
            yield
        finally:
            self.held = False

    @property
    def accepted(self) -> list[str]:
        return [a.signal_id for a in self.answers if a.status == 200 and a.signal_id]

    def refused(self) -> dict[str, str]:
        """Signal id -> the kind of refusal, for every signal the gateway answered 5xx with an id."""
        return {a.signal_id: a.error or str(a.status) for a in self.answers if a.status != 200 and a.signal_id}

    def answers_between(self, start: float, end: float) -> list[Answer]:
        return [a for a in self.answers if start <= a.sent_at <= end]

    def sent_between(self, start: float, end: float) -> int:
        return sum(1 for t in self.sent_at if start <= t <= end)

    def settle(self, timeout_s: float, grace_s: float = 1.0) -> Settlement:
        """Wait until every accepted signal is decided (or ``timeout_s``), then ``grace_s`` more for doubles."""
        deadline = time.monotonic() + timeout_s
        while self.bursts_running and time.monotonic() < deadline:
            time.sleep(0.2)  # a burst sent in the background: its signals count too
        accepted = self.accepted
        while time.monotonic() < deadline and any(self.decided.get(s, 0) == 0 for s in accepted):
            time.sleep(0.2)
        end_grace = time.monotonic() + grace_s
        while time.monotonic() < end_grace:
            time.sleep(0.1)  # a second decision would be a redelivery arriving now: keep counting briefly
        decided = Counter(self.decided)
        return Settlement(
            accepted=accepted,
            decided=decided,
            lost=[s for s in accepted if decided.get(s, 0) == 0],
            twice=[s for s in accepted if decided.get(s, 0) > 1],
        )

    # -- on the loop --------------------------------------------------------------------------

    async def _subscribe_decisions(self) -> None:
        self._stopping = asyncio.Event()

        async def count_error(exc: Exception) -> None:
            self.bus_errors += 1  # NATS stopped by an experiment: the client reconnects on its own

        nc = await nats.connect(
            self.settings.nats_url,
            **nats_credentials(self.settings, ADMIN),
            connect_timeout=3,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.25,
            error_cb=count_error,
        )
        js = nc.jetstream()
        info = await js.stream_info(DECISIONS_STREAM)

        async def on_decision(msg: nats.aio.msg.Msg) -> None:
            try:
                decision = orjson.loads(msg.data)
            except orjson.JSONDecodeError:
                return
            signal_id = decision.get("signal_id") if isinstance(decision, dict) else None
            if signal_id:
                self.decided[signal_id] += 1
                self.decisions[signal_id] = decision

        await js.subscribe(
            STREAM_SUBJECTS[DECISIONS_STREAM],
            stream=DECISIONS_STREAM,
            ordered_consumer=True,
            cb=on_decision,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=info.state.last_seq + 1),
        )
        self._nc = nc

    async def _send_until_stopped(self) -> None:
        factory = SignalFactory()
        url = self.settings.url("gateway") + WEBHOOK_PATH
        interval = 1.0 / self.per_s
        tasks: set[asyncio.Task[None]] = set()
        limits = httpx.Limits(max_connections=256)
        async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S, limits=limits) as client:
            started = time.monotonic()
            n = 0
            while not self._stopping.is_set():
                if self.held:
                    n += 1
                    await asyncio.sleep(interval)
                    continue
                payload = factory.signal()
                payload["strategy"] = f"{self.tag}-{n}"  # distinct content: each one is a new signal
                task = asyncio.create_task(self._send(client, url, payload))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                n += 1
                delay = started + n * interval - time.monotonic()
                if delay > 0:
                    with suppress(TimeoutError):  # the normal case: no stop before the next send
                        await asyncio.wait_for(self._stopping.wait(), delay)
            if tasks:
                _, late = await asyncio.wait(tasks, timeout=REQUEST_TIMEOUT_S + 1)
                for task in late:  # httpx's own timeout should have ended them: never wait forever
                    task.cancel()

    async def _burst(self, count: int, concurrency: int, fixed: dict[str, object] | None) -> None:
        factory = SignalFactory()
        url = self.settings.url("gateway") + WEBHOOK_PATH
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(count):
            queue.put_nowait(i)

        async def worker(client: httpx.AsyncClient) -> None:
            while not queue.empty():
                i = queue.get_nowait()
                if fixed is not None:
                    payload = dict(fixed)
                else:
                    payload = factory.signal()
                    payload["strategy"] = f"{self.tag}-burst-{i}"
                await self._send(client, url, payload)

        self.bursts_running += 1
        try:
            async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S, limits=httpx.Limits(max_connections=concurrency)) as client:
                await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        finally:
            self.bursts_running -= 1

    def send_one(self, payload: dict[str, object], headers: dict[str, str] | None = None) -> Answer:
        """One webhook now (recorded like the others); its answer."""
        return self.loop.run(self._send_one(payload, headers or {}), timeout=REQUEST_TIMEOUT_S + 5)

    async def _send_one(self, payload: dict[str, object], headers: dict[str, str]) -> Answer:
        async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S, headers=headers) as client:
            await self._send(client, self.settings.url("gateway") + WEBHOOK_PATH, payload)
        return self.answers[-1]

    async def _send(self, client: httpx.AsyncClient, url: str, payload: dict[str, object]) -> None:
        sent_at = time.time()
        self.sent_at.append(sent_at)
        started = time.monotonic()
        try:
            response = await client.post(url, json=payload)
        except httpx.HTTPError:
            self.answers.append(Answer(sent_at, None, time.monotonic() - started, None))
            return
        signal_id = error = None
        if response.status_code == 200 or response.status_code >= 500:
            try:
                body = response.json()
            except ValueError:
                body = {}
            signal_id = body.get("signal_id") if isinstance(body, dict) else None
            error = body.get("error") if isinstance(body, dict) and response.status_code != 200 else None
        self.answers.append(Answer(sent_at, response.status_code, time.monotonic() - started, signal_id, error))
