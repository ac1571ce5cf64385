"""The load generator's HTTP/1.1 keep-alive client, on asyncio protocols (uvloop when installed).

httpx was measured first: about 1,800 requests a second from one process with one
connection, and about 300 with 50 concurrent connections, which would have measured the
generator instead of the gateway. This client keeps a pool of connections to one target
(:class:`Pool`), each carrying one request at a time (:class:`Connection`), times out
requests that get no answer, and names every failure (:func:`error_name`) so that a
report says *why* requests failed.

Clocks: every timestamp is ``time.monotonic()`` (``CLOCK_MONOTONIC`` on Linux, shared by
all processes of the machine), so worker processes agree on the schedule's ``t0``.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from agentic_trading.load.errors import TargetUnreachableError
from agentic_trading.load.target import Target

monotonic = time.monotonic

# Errors that mean "nothing is listening there" rather than "the target misbehaved".
UNREACHABLE_ERRORS = frozenset({"connection_refused", "connect_timeout", "dns_error", "host_unreachable"})
_MAX_HEAD_BYTES = 64 * 1024
_SWEEP_INTERVAL_S = 0.05

DoneCallback = Callable[["Request", "int | None", "str | None", float], None]


def error_name(exc: BaseException) -> str:
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


class Request:
    """One request in flight: its bytes, when it was meant to go, and whom to tell when it is done."""

    __slots__ = ("payload", "intended", "on_done", "context", "sent_at", "queued_at", "retried")

    def __init__(self, payload: bytes, intended: float, on_done: DoneCallback, context: Any = None):
        self.payload = payload
        self.intended = intended
        self.on_done = on_done
        self.context = context
        self.sent_at = 0.0
        self.queued_at = 0.0
        self.retried = False


class Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection carrying one request at a time."""

    def __init__(self, pool: Pool):
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.request: Request | None = None
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

    def send(self, request: Request) -> None:
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
            error = error_name(exc) if exc is not None else "connection_closed"
            self.pool.on_failed(self, request, error)


class Pool:
    """Connections to one target: reuse an idle one, open one below the limit, or queue."""

    def __init__(self, target: Target, address: tuple[str, int], max_connections: int, timeout_s: float):
        self.target = target
        self.address = address
        self.max_connections = max(1, max_connections)
        self.timeout_s = timeout_s
        self.loop = asyncio.get_running_loop()
        self.ssl = ssl.create_default_context() if target.scheme == "https" else None
        self.idle: list[Connection] = []
        self.busy: set[Connection] = set()
        self.waiting: deque[Request] = deque()
        self.size = 0
        self.closed = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._sweeper = self.loop.create_task(self._sweep())

    @classmethod
    async def start(cls, target: Target, max_connections: int, timeout_s: float) -> Pool:
        return cls(target, await resolve(target), max_connections, timeout_s)

    def submit(self, request: Request) -> None:
        if self.idle:
            conn = self.idle.pop()
            self.busy.add(conn)
            conn.send(request)
        elif self.size < self.max_connections:
            self._open_for(request)
        else:
            request.queued_at = monotonic()
            self.waiting.append(request)

    def _open_for(self, request: Request) -> None:
        self.size += 1
        task = self.loop.create_task(self._open(request))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connect(self) -> Connection:
        host, port = self.address
        _, conn = await asyncio.wait_for(
            self.loop.create_connection(
                lambda: Connection(self),
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
            if isinstance(conn, Connection):
                conn.idled = True
                self.idle.append(conn)
            else:
                self.size -= 1
        return len(self.idle)

    async def _open(self, request: Request) -> None:
        try:
            conn = await self._connect()
        except (OSError, TimeoutError) as exc:
            self.size -= 1
            self._complete(request, None, error_name(exc))
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

    def on_response(self, conn: Connection, request: Request, status: int, keep_alive: bool) -> None:
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

    def on_failed(self, conn: Connection, request: Request, error: str) -> None:
        self.discard(conn)
        if conn.transport is not None:
            conn.transport.abort()
        self._complete(request, None, error)

    def retry(self, conn: Connection, request: Request) -> None:
        """Send ``request`` again on a new connection (another idle one may be just as stale)."""
        request.retried = True
        conn.alive = False  # discard() by hand: its slot goes to this request, not a waiting one
        self.size -= 1
        self.busy.discard(conn)
        if conn in self.idle:
            self.idle.remove(conn)
        self._open_for(request)

    def discard(self, conn: Connection) -> None:
        """Forget a connection that is closing (idempotent) and let a waiting request use its slot."""
        if not conn.alive:
            return
        conn.alive = False
        self.size -= 1
        self.busy.discard(conn)
        if conn in self.idle:
            self.idle.remove(conn)
        self._open_for_waiting()

    def _complete(self, request: Request, status: int | None, error: str | None) -> None:
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
        raise TargetUnreachableError(target.url, error_name(exc).replace("_", " ")) from None
    transport.close()
    await asyncio.sleep(0)  # let the close go out before the loop ends
