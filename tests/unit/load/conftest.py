"""A stand-in HTTP target for the load generator: keep-alive HTTP/1.1 on a loopback ephemeral port.

It runs its own event loop in a thread, counts what it received, and can stall once
(every answer held back for ``stall_s`` from ``stall_after_s`` after its first request),
answer with other statuses, chunk its bodies, close after each answer, or never answer.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest


@dataclass
class Answer:
    status: int = 200
    chunked: bool = False
    close: bool = False
    silent: bool = False  # never answer (the client must time out)
    drop: bool = False  # close the connection without answering


class StubServer:
    def __init__(
        self,
        *,
        stall_after_s: float | None = None,
        stall_s: float = 0.5,
        answer: Callable[[int, int], dict[str, object]] | None = None,
    ):
        self.stall_after_s = stall_after_s
        self.stall_s = stall_s
        # (request number, its number on its connection) -> Answer fields,
        # e.g. ``lambda n, k: {"status": 503} if n % 4 == 3 else {}``.
        self.answer = answer or (lambda n, k: {})
        self.received = 0
        self.disconnects = 0
        self.bodies: list[bytes] = []
        self.heads: list[bytes] = []  # request line and headers of each request
        self.first_at: float | None = None
        self.stall_until = 0.0
        self.stalled = False
        self.port = 0
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, name="stub-target", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhook/tradingview"

    def start(self) -> StubServer:
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("stub target did not start within 5 s")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(5)

    def _main(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=2048)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        on_connection = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                n = self.received
                self.received += 1
                self.bodies.append(body)
                self.heads.append(head)
                await self._maybe_stall()
                answer = Answer(**self.answer(n, on_connection))  # type: ignore[arg-type]
                on_connection += 1
                if answer.drop:
                    break
                if answer.silent:
                    await asyncio.Event().wait()  # never answers: the client must time out
                writer.write(_render(answer))
                await writer.drain()
                if answer.close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            self.disconnects += 1  # the client went away: nothing to answer
        finally:
            writer.close()

    async def _maybe_stall(self) -> None:
        now = time.monotonic()
        if self.first_at is None:
            self.first_at = now
        if self.stall_after_s is not None and not self.stalled and now - self.first_at >= self.stall_after_s:
            self.stalled = True
            self.stall_until = now + self.stall_s
        if now < self.stall_until:
            await asyncio.sleep(self.stall_until - now)


def _render(answer: Answer) -> bytes:
    body = b'{"status":"accepted"}'
    connection = b"Connection: close\r\n" if answer.close else b""
    if answer.chunked:
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:5], body[5:]))
        return b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n%s\r\n%s0\r\n\r\n" % (
            answer.status,
            connection,
            chunks,
        )
    return b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n%s" % (
        answer.status,
        len(body),
        connection,
        body,
    )


@pytest.fixture
def stub_server() -> Iterator[Callable[..., StubServer]]:
    """Start stub targets with the given behaviour; all are stopped after the test."""
    servers: list[StubServer] = []

    def start(**kwargs: object) -> StubServer:
        server = StubServer(**kwargs).start()  # type: ignore[arg-type]
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
