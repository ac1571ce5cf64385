"""Running a load model against an HTTP target: the client, the two drivers, the worker processes.

The client is a small HTTP/1.1 keep-alive client on asyncio protocols (uvloop when it
is installed). httpx was measured first: about 1,800 requests a second from one
process with one connection, and about 300 with 50 concurrent connections, which would
have measured the generator instead of the gateway.

Clocks: every timestamp is ``time.monotonic()`` (``CLOCK_MONOTONIC`` on Linux, shared
by all processes of the machine), so worker processes agree on the schedule's ``t0``.
"""

from __future__ import annotations

import asyncio
import errno
import math
import multiprocessing
import queue
import random
import socket
import ssl
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import orjson

from agentic_trading.load.errors import LoadError, TargetUnreachableError
from agentic_trading.load.model import ClosedModel, LoadModel, OpenModel, OpenShare, auto_workers
from agentic_trading.load.payloads import SignalFactory
from agentic_trading.load.report import GeneratorLag, LoadResult

monotonic = time.monotonic
T = TypeVar("T")

# Errors that mean "nothing is listening there" rather than "the target misbehaved".
_UNREACHABLE_ERRORS = frozenset({"connection_refused", "connect_timeout", "dns_error", "host_unreachable"})
_MAX_HEAD_BYTES = 64 * 1024
_SWEEP_INTERVAL_S = 0.05
_PROGRESS_INTERVAL_S = 0.25
_DISPATCH_BURST = 100
_MIN_SLEEP_S = 0.001
_WARM_S = 0.004


@dataclass(frozen=True)
class Target:
    """Where requests go: a parsed ``http(s)://host:port/path`` URL."""

    url: str
    scheme: str
    host: str
    port: int
    path: str

    @classmethod
    def parse(cls, url: str) -> Target:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise LoadError(f"target {url!r} is not an http:// or https:// URL (e.g. http://127.0.0.1:8001/webhook/tradingview)")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise LoadError(f"target {url!r} has a bad port: {exc}") from None
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        return cls(url=url, scheme=parts.scheme, host=parts.hostname, port=port, path=path)

    @property
    def request_head(self) -> bytes:
        """Everything of a POST request up to the Content-Length value."""
        default_port = 443 if self.scheme == "https" else 80
        host = self.host if self.port == default_port else f"{self.host}:{self.port}"
        if ":" in self.host and not host.startswith("["):
            host = f"[{self.host}]" if self.port == default_port else f"[{self.host}]:{self.port}"
        return (
            f"POST {self.path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: atctl-load\r\n"
            "Content-Type: application/json\r\nContent-Length: "
        ).encode("latin-1")


@dataclass(frozen=True)
class RunOptions:
    """How the generator behaves, whatever the model."""

    # Most connections one worker process opens (open model; the closed model opens one per user).
    connections: int = 512
    # A request without a complete answer after this long counts as a "timeout" error.
    timeout_s: float = 10.0
    # Seed of the payloads and think times, for a replayable run.
    seed: int | None = None


@dataclass(frozen=True)
class ProgressSnapshot:
    """Where a run is, for a progress bar."""

    elapsed_s: float
    duration_s: float
    sent: int
    completed: int
    failed: int


ProgressCallback = Callable[[ProgressSnapshot], None]
_DoneCallback = Callable[["_Request", "int | None", "str | None", float], None]


def _error_name(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection_refused"
    if isinstance(exc, ConnectionResetError):
        return "connection_reset"
    if isinstance(exc, TimeoutError):
        return "connect_timeout"
    if isinstance(exc, socket.gaierror):
        return "dns_error"
    if isinstance(exc, ssl.SSLError):
        return "tls_error"
    if isinstance(exc, OSError) and exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return "host_unreachable"
    if isinstance(exc, OSError) and exc.errno is not None:
        return f"os_error_{errno.errorcode.get(exc.errno, str(exc.errno)).lower()}"
    return type(exc).__name__


class _Request:
    """One request in flight: its bytes, when it was meant to go, and whom to tell when it is done."""

    __slots__ = ("payload", "intended", "on_done", "context", "sent_at", "queued_at", "retried")

    def __init__(self, payload: bytes, intended: float, on_done: _DoneCallback, context: Any = None):
        self.payload = payload
        self.intended = intended
        self.on_done = on_done
        self.context = context
        self.sent_at = 0.0
        self.queued_at = 0.0
        self.retried = False


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection carrying one request at a time."""

    def __init__(self, pool: _Pool):
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.request: _Request | None = None
        self.alive = True
        self.served = 0
        self.idled = False  # has waited in the idle list, where the server may have closed it
        self._reset()

    def _reset(self) -> None:
        self.buf = bytearray()
        self.head_end = -1
        self.status = 0
        self.length: int | None = None
        self.chunked = False
        self.close_after = False
        self.chunk_pos = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, request: _Request) -> None:
        self.request = request
        request.sent_at = monotonic()
        assert self.transport is not None
        self.transport.write(request.payload)

    def data_received(self, data: bytes) -> None:
        if self.request is None:
            # Bytes nobody asked for: the connection is out of step, drop it.
            self.pool.discard(self)
            assert self.transport is not None
            self.transport.abort()
            return
        self.buf += data
        while self.head_end < 0:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > _MAX_HEAD_BYTES:
                    self._fail("bad_response")
                return
            if not self._read_head(end):
                return
            if 100 <= self.status < 200:  # an interim answer: the real one follows
                del self.buf[: end + 4]
                self.head_end = -1
        if self._body_complete():
            request, status, keep_alive = self.request, self.status, not self.close_after
            self.request = None
            self.served += 1
            self._reset()
            self.pool.on_response(self, request, status, keep_alive)

    def _read_head(self, end: int) -> bool:
        lines = bytes(self.buf[:end]).split(b"\r\n")
        parts = lines[0].split(None, 2)
        try:
            version, status = parts[0], int(parts[1])
        except (IndexError, ValueError):
            self._fail("bad_response")
            return False
        self.head_end, self.status = end + 4, status
        self.close_after = version == b"HTTP/1.0"
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                try:
                    self.length = int(value.strip())
                except ValueError:
                    self._fail("bad_response")
                    return False
            elif name == b"transfer-encoding":
                self.chunked = b"chunked" in value.lower()
            elif name == b"connection":
                token = value.strip().lower()
                if b"close" in token:
                    self.close_after = True
                elif b"keep-alive" in token:
                    self.close_after = False
        return True

    def _body_complete(self) -> bool:
        if self.chunked:
            return self._chunks_complete()
        if self.length is not None:
            return len(self.buf) - self.head_end >= self.length
        # No length: 204/304 have no body; anything else runs until the server closes.
        return self.status in (204, 304)

    def _chunks_complete(self) -> bool:
        buf, pos = self.buf, self.chunk_pos or self.head_end
        while True:
            line_end = buf.find(b"\r\n", pos)
            if line_end < 0:
                self.chunk_pos = pos
                return False
            try:
                size = int(bytes(buf[pos:line_end]).split(b";")[0].strip(), 16)
            except ValueError:
                self._fail("bad_response")
                return False
            if size == 0:
                self.chunk_pos = pos
                return buf.find(b"\r\n\r\n", line_end) >= 0
            next_pos = line_end + 2 + size + 2
            if len(buf) < next_pos:
                self.chunk_pos = pos
                return False
            pos = next_pos

    def _fail(self, error: str) -> None:
        request, self.request = self.request, None
        if request is not None:
            self.pool.on_failed(self, request, error)

    def connection_lost(self, exc: Exception | None) -> None:
        request, self.request = self.request, None
        if request is None:
            self.pool.discard(self)
        elif self.head_end >= 0 and self.length is None and not self.chunked:
            self.pool.on_response(self, request, self.status, keep_alive=False)  # body ran until close
        elif not self.buf and (self.served or self.idled) and not request.retried:
            # The server closed a kept-alive connection as we reused it: try once on a new one.
            self.pool.retry(self, request)
        else:
            error = _error_name(exc) if exc is not None else "connection_closed"
            self.pool.on_failed(self, request, error)


class _Pool:
    """Connections to one target: reuse an idle one, open one below the limit, or queue."""

    def __init__(self, target: Target, address: tuple[str, int], max_connections: int, timeout_s: float):
        self.target = target
        self.address = address
        self.max_connections = max(1, max_connections)
        self.timeout_s = timeout_s
        self.loop = asyncio.get_running_loop()
        self.ssl = ssl.create_default_context() if target.scheme == "https" else None
        self.idle: list[_Connection] = []
        self.busy: set[_Connection] = set()
        self.waiting: deque[_Request] = deque()
        self.size = 0
        self.closed = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._sweeper = self.loop.create_task(self._sweep())

    @classmethod
    async def start(cls, target: Target, max_connections: int, timeout_s: float) -> _Pool:
        return cls(target, await resolve(target), max_connections, timeout_s)

    def submit(self, request: _Request) -> None:
        if self.idle:
            conn = self.idle.pop()
            self.busy.add(conn)
            conn.send(request)
        elif self.size < self.max_connections:
            self._open_for(request)
        else:
            request.queued_at = monotonic()
            self.waiting.append(request)

    def _open_for(self, request: _Request) -> None:
        self.size += 1
        task = self.loop.create_task(self._open(request))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connect(self) -> _Connection:
        host, port = self.address
        _, conn = await asyncio.wait_for(
            self.loop.create_connection(
                lambda: _Connection(self),
                host,
                port,
                ssl=self.ssl,
                server_hostname=self.target.host if self.ssl else None,
            ),
            self.timeout_s,
        )
        return conn

    async def warm(self, count: int) -> int:
        """Open up to ``count`` idle connections before the run, so its first requests need not.

        Returns how many opened; one that failed here fails again, and is counted, when a
        request needs it.
        """
        count = min(count, self.max_connections - self.size)
        self.size += count
        opened = await asyncio.gather(*(self._connect() for _ in range(count)), return_exceptions=True)
        for conn in opened:
            if isinstance(conn, _Connection):
                conn.idled = True
                self.idle.append(conn)
            else:
                self.size -= 1
        return len(self.idle)

    async def _open(self, request: _Request) -> None:
        try:
            conn = await self._connect()
        except (OSError, TimeoutError) as exc:
            self.size -= 1
            self._complete(request, None, _error_name(exc))
            self._open_for_waiting()
            return
        if self.closed:
            self.discard(conn)
            assert conn.transport is not None
            conn.transport.close()
            self._complete(request, None, "cancelled")
            return
        self.busy.add(conn)
        conn.send(request)

    def _open_for_waiting(self) -> None:
        if self.waiting and self.size < self.max_connections and not self.closed:
            self._open_for(self.waiting.popleft())

    def on_response(self, conn: _Connection, request: _Request, status: int, keep_alive: bool) -> None:
        self._complete(request, status, None)
        if keep_alive and conn.alive and not self.closed:
            if self.waiting:
                conn.send(self.waiting.popleft())
            else:
                self.busy.discard(conn)
                conn.idled = True
                self.idle.append(conn)
        else:
            self.discard(conn)
            if conn.transport is not None:
                conn.transport.close()

    def on_failed(self, conn: _Connection, request: _Request, error: str) -> None:
        self.discard(conn)
        if conn.transport is not None:
            conn.transport.abort()
        self._complete(request, None, error)

    def retry(self, conn: _Connection, request: _Request) -> None:
        """Send ``request`` again on a new connection (another idle one may be just as stale)."""
        request.retried = True
        conn.alive = False  # discard() by hand: its slot goes to this request, not a waiting one
        self.size -= 1
        self.busy.discard(conn)
        if conn in self.idle:
            self.idle.remove(conn)
        self._open_for(request)

    def discard(self, conn: _Connection) -> None:
        """Forget a connection that is closing (idempotent) and let a waiting request use its slot."""
        if not conn.alive:
            return
        conn.alive = False
        self.size -= 1
        self.busy.discard(conn)
        if conn in self.idle:
            self.idle.remove(conn)
        self._open_for_waiting()

    def _complete(self, request: _Request, status: int | None, error: str | None) -> None:
        request.on_done(request, status, error, monotonic())

    async def _sweep(self) -> None:
        """Time out requests without an answer after ``timeout_s``, and queued ones waiting as long."""
        while not self.closed:
            await asyncio.sleep(_SWEEP_INTERVAL_S)
            now = monotonic()
            late = [c for c in self.busy if c.request is not None and now - c.request.sent_at > self.timeout_s]
            for conn in late:
                request, conn.request = conn.request, None
                assert request is not None
                self.on_failed(conn, request, "timeout")
            while self.waiting and now - self.waiting[0].queued_at > self.timeout_s:
                self._complete(self.waiting.popleft(), None, "timeout")

    async def close(self) -> None:
        self.closed = True
        self._sweeper.cancel()
        for conn in [*self.idle, *self.busy]:
            self.discard(conn)
            if conn.transport is not None:
                conn.transport.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(self._sweeper, *self._tasks, return_exceptions=True)


async def resolve(target: Target) -> tuple[str, int]:
    """The target's address, resolved once (not once per connection)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TargetUnreachableError(target.url, f"cannot resolve {target.host}: {exc.strerror}") from None
    host, port = infos[0][4][:2]
    return str(host), int(port)


async def probe(target: Target, timeout_s: float = 3.0) -> None:
    """Open and close one connection; :class:`TargetUnreachableError` when nothing answers."""
    host, port = await resolve(target)
    loop = asyncio.get_running_loop()
    try:
        transport, _ = await asyncio.wait_for(loop.create_connection(asyncio.Protocol, host, port), timeout_s)
    except (OSError, TimeoutError) as exc:
        raise TargetUnreachableError(target.url, _error_name(exc).replace("_", " ")) from None
    transport.close()
    await asyncio.sleep(0)  # let the close go out before the loop ends


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
            await asyncio.sleep(_PROGRESS_INTERVAL_S)
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


def _payload_maker(target: Target, seed: int | None) -> Callable[[], bytes]:
    head = target.request_head
    factory = SignalFactory(seed)

    def payload() -> bytes:
        # A fresh timestamp in every body: each request is a distinct signal to the gateway.
        body = orjson.dumps(factory.signal())
        return head + str(len(body)).encode() + b"\r\n\r\n" + body

    return payload


async def _drive_open(share: OpenShare, pool: _Pool, t0: float, options: RunOptions, result: LoadResult, ticker: _Ticker) -> None:
    """Send this share's requests at their intended times, latency from intended time to answer."""
    payload = _payload_maker(pool.target, None if options.seed is None else options.seed + share.index)
    lag = result.generator_lag = GeneratorLag()
    drained = asyncio.Event()
    in_flight, dispatching, last_done = 0, True, t0

    def on_done(request: _Request, status: int | None, error: str | None, done_at: float) -> None:
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
            pool.submit(_Request(payload(), intended, on_done))
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


def _resolve_future(request: _Request, status: int | None, error: str | None, done_at: float) -> None:
    future: asyncio.Future[tuple[int | None, str | None, float]] = request.context
    if not future.done():
        future.set_result((status, error, done_at))


async def _drive_closed(
    model: ClosedModel, index: int, pool: _Pool, t0: float, options: RunOptions, result: LoadResult, ticker: _Ticker
) -> None:
    """``users`` loops of send, wait, think until ``t0 + duration``; latency from send to answer."""
    seed = None if options.seed is None else options.seed + index
    payload = _payload_maker(pool.target, seed)
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
            pool.submit(_Request(body, started, _resolve_future, future))
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
        pool = await _Pool.start(target, options.connections, options.timeout_s)
        # Enough connections for a few milliseconds of the schedule, open before t0.
        await pool.warm(math.ceil(part.model.rate / part.stride * _WARM_S))
    else:
        duration = part.duration
        pool = await _Pool.start(target, part.users, options.timeout_s)
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


def _run_async(coro: Coroutine[Any, Any, T]) -> T:
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        return runner.run(coro)


async def _worker_async(
    part: OpenShare | ClosedModel,
    target: Target,
    options: RunOptions,
    index: int,
    t0_value: Any,
    start: Any,
    results: Any,
    counters: Any,
) -> LoadResult:
    async def ready() -> float:
        results.put(("ready", index, None))
        if not await asyncio.get_running_loop().run_in_executor(None, start.wait, 120):
            raise LoadError("the parent process never said start")
        return float(t0_value.value)

    def report(snapshot: ProgressSnapshot) -> None:
        counters[3 * index] = snapshot.sent
        counters[3 * index + 1] = snapshot.completed
        counters[3 * index + 2] = snapshot.failed

    return await drive(part, target, options, index=index, progress=report, ready=ready)


def _worker_main(
    part: OpenShare | ClosedModel,
    target: Target,
    options: RunOptions,
    index: int,
    t0_value: Any,
    start: Any,
    results: Any,
    counters: Any,
) -> None:
    """One worker process: say ready, wait for the common t0, run its part, send back its result."""
    try:
        result = _run_async(_worker_async(part, target, options, index, t0_value, start, results, counters))
        results.put(("result", index, result.to_wire()))
    except Exception as exc:  # reported to the parent, which raises it as a LoadError
        results.put(("error", index, f"{type(exc).__name__}: {exc}"))


def _run_workers(
    parts: list[OpenShare] | list[ClosedModel],
    target: Target,
    options: RunOptions,
    duration: float,
    progress: ProgressCallback | None,
) -> LoadResult:
    """Run each part in its own process on a common t0 and merge what they measured."""
    ctx = multiprocessing.get_context("spawn")
    n = len(parts)
    results = ctx.Queue()
    start = ctx.Event()
    t0_value = ctx.Value("d", 0.0)
    counters = ctx.Array("q", 3 * n, lock=False)
    processes = [
        ctx.Process(
            target=_worker_main,
            args=(part, target, options, k, t0_value, start, results, counters),
            name=f"atctl-load-{k}",
            daemon=True,
        )
        for k, part in enumerate(parts)
    ]
    for process in processes:
        process.start()
    collected: dict[int, LoadResult] = {}
    try:
        ready, deadline = 0, monotonic() + 60
        while ready < n:
            message = _next_message(results, processes, collected, deadline)
            if message is not None and message[0] == "ready":
                ready += 1
        t0 = monotonic() + 0.25
        t0_value.value = t0
        start.set()
        deadline = t0 + duration + 2 * options.timeout_s + 30
        while len(collected) < n:
            message = _next_message(results, processes, collected, deadline, poll_s=_PROGRESS_INTERVAL_S)
            if message is not None and message[0] == "result":
                collected[message[1]] = LoadResult.from_wire(message[2])
            if progress is not None:
                progress(
                    ProgressSnapshot(
                        elapsed_s=max(0.0, monotonic() - t0),
                        duration_s=duration,
                        sent=sum(counters[3 * k] for k in range(n)),
                        completed=sum(counters[3 * k + 1] for k in range(n)),
                        failed=sum(counters[3 * k + 2] for k in range(n)),
                    )
                )
    finally:
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
    merged = collected[0]
    for k in range(1, n):
        merged.merge(collected[k])
    return merged


def _next_message(
    results: Any, processes: list[Any], collected: dict[int, LoadResult], deadline: float, poll_s: float = 0.5
) -> Any:
    """The next message from the workers (``None`` after ``poll_s`` without one); raises for dead or failed workers."""
    if monotonic() > deadline:
        raise LoadError("load worker processes did not finish in time; try fewer --workers or a shorter --duration")
    try:
        kind, index, payload = results.get(timeout=poll_s)
    except queue.Empty:
        for k, process in enumerate(processes):
            if k not in collected and process.exitcode is not None:
                # Give a result sent just before the exit the chance to arrive.
                try:
                    kind, index, payload = results.get(timeout=1.0)
                except queue.Empty:
                    raise LoadError(f"load worker {k} exited (code {process.exitcode}) without a result") from None
                break
        else:
            return None
    if kind == "error":
        raise LoadError(f"load worker {index} failed: {payload}")
    return kind, index, payload


def run(
    model: LoadModel,
    url: str,
    *,
    workers: int | None = None,
    options: RunOptions | None = None,
    progress: ProgressCallback | None = None,
) -> LoadResult:
    """Run ``model`` against ``url`` in one or several processes; the merged :class:`LoadResult`.

    Raises :class:`TargetUnreachableError` when nothing answers at ``url`` (before the
    run, or when every request of the run failed to connect).
    """
    options = options or RunOptions()
    target = Target.parse(url)
    _run_async(probe(target))
    workers = auto_workers(model) if workers is None else max(1, workers)
    parts: list[OpenShare] | list[ClosedModel] = model.split(workers)
    if len(parts) == 1:
        result = _run_async(drive(parts[0], target, options, progress=progress))
    else:
        result = _run_workers(parts, target, options, model.duration, progress)
    result.model = model.describe(len(parts))
    if result.requests and not result.status_codes and set(result.errors) <= _UNREACHABLE_ERRORS:
        raise TargetUnreachableError(url, ", ".join(sorted(result.errors)).replace("_", " "))
    return result


def run_open(
    url: str,
    rate: float,
    duration: float,
    *,
    workers: int | None = None,
    connections: int = 512,
    timeout_s: float = 10.0,
    seed: int | None = None,
    progress: ProgressCallback | None = None,
) -> LoadResult:
    """Open model: ``rate`` requests a second for ``duration`` s, latency from each intended send time."""
    options = RunOptions(connections=connections, timeout_s=timeout_s, seed=seed)
    return run(OpenModel(rate, duration), url, workers=workers, options=options, progress=progress)


def run_closed(
    url: str,
    users: int,
    duration: float,
    *,
    think_min: float = 1.0,
    think_max: float = 3.0,
    workers: int = 1,
    timeout_s: float = 10.0,
    seed: int | None = None,
    progress: ProgressCallback | None = None,
) -> LoadResult:
    """Closed model: ``users`` send-wait-think loops for ``duration`` s, latency from each send."""
    options = RunOptions(timeout_s=timeout_s, seed=seed)
    model = ClosedModel(users, duration, think_min, think_max)
    return run(model, url, workers=workers, options=options, progress=progress)
