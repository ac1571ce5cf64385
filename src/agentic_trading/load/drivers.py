"""Pacing: how one process sends its part of a load model, open or closed, on a common ``t0``.

* The open driver sends each request at its intended time (``t0 + offset(i)``) whatever
  the answers, and measures latency from that intended time, so a stall is counted,
  not hidden (no coordinated omission).
* The closed driver runs ``users`` loops of send, wait, think; latency from each send.

:func:`drive` runs either inside the running event loop; :func:`run_async` runs a
coroutine on a fresh (uvloop) loop.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson

from agentic_trading.gateway.auth import WebhookAuthenticator
from agentic_trading.load._client import Pool, Request
from agentic_trading.load.errors import LoadError
from agentic_trading.load.model import ClosedModel, OpenShare
from agentic_trading.load.payloads import SignalFactory
from agentic_trading.load.report import GeneratorLag, LoadResult
from agentic_trading.load.target import Target

monotonic = time.monotonic
T = TypeVar("T")

PROGRESS_INTERVAL_S = 0.25
_DISPATCH_BURST = 100
_MIN_SLEEP_S = 0.001
_WARM_S = 0.004


@dataclass(frozen=True)
class RunOptions:
    """How the generator behaves, whatever the model."""

    # Most connections one worker process opens (open model; the closed model opens one per user).
    connections: int = 512
    # A request without a complete answer after this long counts as a "timeout" error.
    timeout_s: float = 10.0
    # Seed of the payloads and think times, for a replayable run.
    seed: int | None = None
    # The gateway's webhook secret: every body is signed (X-Signature: sha256=<HMAC>); None: unsigned.
    webhook_secret: str | None = None

    def __repr__(self) -> str:  # never print the secret
        return f"RunOptions(connections={self.connections}, timeout_s={self.timeout_s}, seed={self.seed})"


@dataclass(frozen=True)
class ProgressSnapshot:
    """Where a run is, for a progress bar."""

    elapsed_s: float
    duration_s: float
    sent: int
    completed: int
    failed: int


ProgressCallback = Callable[[ProgressSnapshot], None]


class _Ticker:
    """Calls a progress callback every quarter second while a run goes."""

    def __init__(self, callback: ProgressCallback | None, result: LoadResult, t0: float, duration: float):
        self.callback = callback
        self.result = result
        self.t0 = t0
        self.duration = duration
        self.sent = 0
        self._task = asyncio.get_running_loop().create_task(self._run()) if callback else None

    def snapshot(self) -> ProgressSnapshot:
        return ProgressSnapshot(
            elapsed_s=max(0.0, monotonic() - self.t0),
            duration_s=self.duration,
            sent=self.sent,
            completed=self.result.requests,
            failed=self.result.failed,
        )

    async def _run(self) -> None:
        assert self.callback is not None
        while True:
            await asyncio.sleep(PROGRESS_INTERVAL_S)
            self.callback(self.snapshot())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            assert self.callback is not None
            self.callback(self.snapshot())


async def _sleep_until(moment: float) -> None:
    delay = moment - monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


def _payload_maker(target: Target, seed: int | None, secret: str | None = None) -> Callable[[], bytes]:
    head = target.request_head
    factory = SignalFactory(seed)
    signer = WebhookAuthenticator(secret) if secret else None

    def payload() -> bytes:
        # A fresh timestamp in every body: each request is a distinct signal to the gateway.
        body = orjson.dumps(factory.signal())
        length = str(len(body)).encode()
        if signer is None:
            return head + length + b"\r\n\r\n" + body
        # The HMAC of the exact body: the secret itself never travels.
        return head + length + b"\r\nX-Signature: " + signer.sign(body).encode() + b"\r\n\r\n" + body

    return payload


async def _drive_open(share: OpenShare, pool: Pool, t0: float, options: RunOptions, result: LoadResult, ticker: _Ticker) -> None:
    """Send this share's requests at their intended times, latency from intended time to answer."""
    payload = _payload_maker(pool.target, None if options.seed is None else options.seed + share.index, options.webhook_secret)
    lag = result.generator_lag = GeneratorLag()
    drained = asyncio.Event()
    in_flight, dispatching, last_done = 0, True, t0

    def on_done(request: Request, status: int | None, error: str | None, done_at: float) -> None:
        nonlocal in_flight, last_done
        result.record(int(request.intended - t0), done_at - request.intended, status, error)
        if done_at > last_done:
            last_done = done_at
        in_flight -= 1
        if not in_flight and not dispatching:
            drained.set()

    count, offset = share.count, share.offset
    await _sleep_until(t0)
    j = 0
    while j < count:
        burst = 0
        while j < count and burst < _DISPATCH_BURST:
            intended = t0 + offset(j)
            now = monotonic()
            if intended > now:
                break
            lag.record(now - intended)
            in_flight += 1
            ticker.sent += 1
            pool.submit(Request(payload(), intended, on_done))
            j += 1
            burst += 1
        if j < count:
            # Event-loop timers tick in milliseconds (uvloop): a shorter sleep would spin.
            delay = t0 + offset(j) - monotonic()
            await asyncio.sleep(max(delay, _MIN_SLEEP_S) if burst < _DISPATCH_BURST else 0)
    dispatching = False
    if in_flight:
        # The pool times out every request, queued or sent, within 2 x timeout.
        try:
            await asyncio.wait_for(drained.wait(), 2 * options.timeout_s + 5)
        except TimeoutError:
            raise LoadError(f"{in_flight} requests neither answered nor timed out: a defect of the generator") from None
    result.elapsed_s = max(share.model.duration, last_done - t0)


def _resolve_future(request: Request, status: int | None, error: str | None, done_at: float) -> None:
    future: asyncio.Future[tuple[int | None, str | None, float]] = request.context
    if not future.done():
        future.set_result((status, error, done_at))


async def _drive_closed(
    model: ClosedModel, index: int, pool: Pool, t0: float, options: RunOptions, result: LoadResult, ticker: _Ticker
) -> None:
    """``users`` loops of send, wait, think until ``t0 + duration``; latency from send to answer."""
    seed = None if options.seed is None else options.seed + index
    payload = _payload_maker(pool.target, seed, options.webhook_secret)
    rng = random.Random(seed)
    loop = asyncio.get_running_loop()
    end = t0 + model.duration
    last_done = t0

    async def user() -> None:
        nonlocal last_done
        while monotonic() < end:
            body = payload()
            future: asyncio.Future[tuple[int | None, str | None, float]] = loop.create_future()
            started = monotonic()
            ticker.sent += 1
            pool.submit(Request(body, started, _resolve_future, future))
            status, error, done_at = await future
            result.record(int(started - t0), done_at - started, status, error)
            last_done = max(last_done, done_at)
            remaining = end - monotonic()
            think = model.think_time(rng)
            if remaining > 0 and think > 0:
                await asyncio.sleep(min(think, remaining))

    await _sleep_until(t0)
    await asyncio.gather(*(user() for _ in range(model.users)))
    result.elapsed_s = max(model.duration, last_done - t0)


async def _start_now() -> float:
    return monotonic() + 0.02


async def drive(
    part: OpenShare | ClosedModel,
    target: Target,
    options: RunOptions,
    *,
    index: int = 0,
    progress: ProgressCallback | None = None,
    ready: Callable[[], Awaitable[float]] = _start_now,
) -> LoadResult:
    """Run one process's part of a model inside the running event loop.

    Connections are set up first; then ``ready()`` says when the run starts (``t0``,
    on the monotonic clock): at once by default, or when the parent process says so.
    """
    if isinstance(part, OpenShare):
        duration = part.model.duration
        pool = await Pool.start(target, options.connections, options.timeout_s)
        # Enough connections for a few milliseconds of the schedule, open before t0.
        await pool.warm(math.ceil(part.model.rate / part.stride * _WARM_S))
    else:
        duration = part.duration
        pool = await Pool.start(target, part.users, options.timeout_s)
    try:
        t0 = await ready()
        result = LoadResult(target=target.url, model={})
        ticker = _Ticker(progress, result, t0, duration)
        try:
            if isinstance(part, OpenShare):
                await _drive_open(part, pool, t0, options, result, ticker)
            else:
                await _drive_closed(part, index, pool, t0, options, result, ticker)
        finally:
            await ticker.stop()
    finally:
        await pool.close()
    return result


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        return runner.run(coro)
