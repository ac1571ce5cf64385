"""An asyncio TCP fault proxy on one dependency edge (what toxiproxy does, in-process).

``FaultProxy(listen_port, upstream)`` forwards every connection to ``upstream`` through
the current :class:`~agentic_trading.chaos.toxics.Toxics`; :meth:`FaultProxy.set_toxics`
changes them for open and new connections at once. It runs on the experiment's
background loop and listens on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from contextlib import suppress

from agentic_trading.chaos.toxics import ChunkSchedule, Toxics

CHUNK = 64 * 1024


class FaultProxy:
    def __init__(self, upstream_host: str, upstream_port: int, toxics: Toxics | None = None):
        self.upstream = (upstream_host, upstream_port)
        self.toxics = toxics or Toxics()
        self.port: int | None = None
        self.connections = 0  # accepted so far: an experiment whose fault hit nothing is inconclusive
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> int:
        """Listen on a free loopback port; return it."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def set_toxics(self, toxics: Toxics) -> None:
        self.toxics = toxics
        if toxics.mode == "reset":
            for writer in list(self._writers):
                _reset(writer)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            with suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self.toxics.mode == "reset":
            _reset(client_writer)
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_writer.close()
            return
        self._writers.update((client_writer, upstream_writer))
        try:
            await asyncio.gather(
                self._pipe(client_reader, upstream_writer),
                self._pipe(upstream_reader, client_writer),
                return_exceptions=True,
            )
        finally:
            for writer in (client_writer, upstream_writer):
                self._writers.discard(writer)
                writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One direction: read chunks, release each at its scheduled time, in order."""
        queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
        schedule = ChunkSchedule(self.toxics)

        async def forward() -> None:
            loop = asyncio.get_running_loop()
            while (item := await queue.get()) is not None:
                release_at, data = item
                await asyncio.sleep(max(0.0, release_at - loop.time()))
                writer.write(data)
                await writer.drain()

        forwarder = asyncio.create_task(forward())
        try:
            while data := await reader.read(CHUNK):
                if self.toxics.mode == "half_open":
                    continue  # read and dropped: the sender sees an open, silent connection
                schedule.toxics = self.toxics  # changed toxics apply at once, order still kept
                now = asyncio.get_running_loop().time()
                queue.put_nowait((schedule.release_at(now, len(data)), data))
        finally:
            queue.put_nowait(None)
            with suppress(Exception):
                await forwarder
            writer.close()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with SO_LINGER 0: the peer gets a TCP RST, not a FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()
