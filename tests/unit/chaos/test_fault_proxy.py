"""The fault proxy on real loopback sockets: bytes pass, late with latency, never with half-open, RST with reset."""

from __future__ import annotations

import asyncio
import time

import pytest

from agentic_trading.chaos.proxy import FaultProxy
from agentic_trading.chaos.toxics import Toxics


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(1024):
        writer.write(data)
        await writer.drain()
    writer.close()


async def _round_trip(port: int, payload: bytes = b"ping", timeout: float = 2.0) -> tuple[bytes, float]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    writer.write(payload)
    await writer.drain()
    data = await asyncio.wait_for(reader.readexactly(len(payload)), timeout)
    writer.close()
    return data, time.monotonic() - started


@pytest.fixture
async def proxy():
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    fault_proxy = FaultProxy("127.0.0.1", server.sockets[0].getsockname()[1])
    await fault_proxy.start()
    yield fault_proxy
    await fault_proxy.close()
    server.close()


async def test_without_toxics_bytes_pass_untouched(proxy: FaultProxy):
    data, elapsed = await _round_trip(proxy.port)
    assert data == b"ping" and elapsed < 0.1
    assert proxy.connections == 1


async def test_latency_applies_each_way(proxy: FaultProxy):
    await proxy.set_toxics(Toxics(latency_ms=100))
    data, elapsed = await _round_trip(proxy.port)
    assert data == b"ping" and 0.2 <= elapsed < 0.6


async def test_half_open_keeps_the_connection_but_delivers_nothing(proxy: FaultProxy):
    await proxy.set_toxics(Toxics(mode="half_open"))
    with pytest.raises(TimeoutError):
        await _round_trip(proxy.port, timeout=0.3)


async def test_reset_answers_with_a_tcp_rst(proxy: FaultProxy):
    await proxy.set_toxics(Toxics(mode="reset"))
    with pytest.raises((ConnectionResetError, asyncio.IncompleteReadError)):
        await _round_trip(proxy.port)
