"""The gateway's HTTP protocol over a real socket: header limits answer 431, early refusals reach the client.

A real uvicorn server (the protocol class the gateway runs with) serves a gateway whose
JetStream is the in-memory stand-in; the client is a raw socket, so what the client really
receives (an answer, or a reset) is what is asserted.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator

import orjson
import pytest
import uvicorn

from agentic_trading.gateway.protocol import bounded_protocol

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SIGNAL = b'{"instrument": "EURUSD", "action": "buy"}'


@pytest.fixture
async def served(make_gateway) -> AsyncIterator[tuple[object, int]]:
    """(gateway, port): the gateway behind uvicorn with 4 KiB / 16-header limits."""
    gateway, _ = make_gateway(max_header_bytes=4096, max_header_count=16)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        gateway, http=bounded_protocol(4096, 16), lifespan="off", loop="none", log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield gateway, sock.getsockname()[1]
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)


async def _exchange(port: int, request: bytes, *, then_send: bytes = b"", chunks: int = 0) -> bytes:
    """Send ``request`` (and ``chunks`` more copies of ``then_send``), then read until the server closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    try:
        for _ in range(chunks):
            writer.write(then_send)
            await writer.drain()
    except ConnectionError as exc:
        raise AssertionError(f"the server reset the connection while the client was still sending: {exc}") from exc
    received = await asyncio.wait_for(reader.read(-1), timeout=10)
    writer.close()
    return received


def _status_and_body(raw: bytes) -> tuple[int, dict]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), orjson.loads(body)


def _post(path: str, body: bytes, extra_headers: bytes = b"") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n".encode()
        + extra_headers
        + b"\r\n"
        + body
    )


def _sample(gateway, status: str) -> float:
    value = gateway.metrics.registry.get_sample_value("gateway_webhooks_total", {"endpoint": "tradingview", "status": status})
    return value or 0.0


async def test_a_request_within_the_limits_is_answered(served):
    gateway, port = served
    raw = await _exchange(port, _post("/webhook/tradingview", SIGNAL, b"Connection: close\r\n"))
    status, body = _status_and_body(raw)
    assert status == 200 and body["status"] == "accepted"


async def test_too_many_headers_get_431_naming_headers_and_are_counted(served):
    gateway, port = served
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(17))
    status, body = _status_and_body(await _exchange(port, _post("/webhook/tradingview", SIGNAL, many)))
    assert status == 431
    assert body["errors"][0]["field"] == "headers" and "AT_MAX_HEADER_COUNT" in body["errors"][0]["message"]
    assert _sample(gateway, "431") == 1


async def test_a_huge_header_still_arriving_gets_431_not_a_reset(served):
    """8 MB of one header value, sent after the server has already refused: the client reads the 431."""
    gateway, port = served
    start = b"POST /webhook/tradingview HTTP/1.1\r\nHost: gw\r\nX-Big: "
    status, body = _status_and_body(await _exchange(port, start, then_send=b"a" * 65536, chunks=128))
    assert status == 431
    assert "AT_MAX_HEADER_BYTES" in body["errors"][0]["message"]
    assert _sample(gateway, "431") == 1


async def test_a_body_over_the_limit_gets_413_that_the_client_receives(served):
    """Content-Length says 8 MB: 413 at once, and the client can send it all and still read the answer."""
    gateway, port = served
    size = 128 * 65536
    head = (
        f"POST /webhook/tradingview HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n\r\n"
    ).encode()
    status, body = _status_and_body(await _exchange(port, head, then_send=b" " * 65536, chunks=128))
    assert status == 413 and body["errors"][0]["reason"] == "body_too_large"
    assert _sample(gateway, "413") == 1


async def test_keep_alive_requests_after_a_large_body_are_not_counted_as_headers(served):
    """Two requests on one connection, the first with a 60 KB body: neither is mistaken for oversized headers."""
    gateway, port = served
    padded = SIGNAL[:-1] + b', "strategy": "s"' + b" " * 60000 + b"}"
    raw = await _exchange(port, _post("/webhook/test", padded) + _post("/webhook/test", SIGNAL, b"Connection: close\r\n"))
    assert raw.count(b"HTTP/1.1 200 OK") == 2, raw[:300]


class _RecordingSocket:
    """The real transport, with every ``write`` recorded (what reaches the kernel as one ``send``)."""

    def __init__(self, transport: asyncio.Transport, writes: list[bytes]):
        self._transport = transport
        self._writes = writes

    def __getattr__(self, name: str):
        return getattr(self._transport, name)

    def write(self, data: bytes) -> None:
        self._writes.append(bytes(data))
        self._transport.write(data)


@pytest.fixture
async def recorded(make_gateway) -> AsyncIterator[tuple[int, list[bytes]]]:
    """(port, writes): the gateway served by its protocol, every socket write recorded."""
    gateway, _ = make_gateway()
    writes: list[bytes] = []
    base = bounded_protocol(4096, 16)

    class Recording(base):  # type: ignore[misc, valid-type]
        def connection_made(self, transport):
            super().connection_made(_RecordingSocket(transport, writes))

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(gateway, http=Recording, lifespan="off", loop="none", log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield sock.getsockname()[1], writes
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)


async def test_a_response_goes_out_in_one_write(recorded):
    # uvicorn writes the head and the body apart: two send() calls per answer before.
    port, writes = recorded
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(_post("/webhook/tradingview", SIGNAL))  # keep-alive: released at completion, not by close
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
    body = await asyncio.wait_for(reader.readexactly(length), timeout=10)
    writer.close()
    assert orjson.loads(body)["status"] == "accepted"
    assert len(writes) == 1 and writes[0] == head + body


async def test_pipelined_requests_are_answered_in_order(recorded):
    port, writes = recorded
    first = b'{"instrument": "EURUSD", "action": "buy"}'
    second = b'{"instrument": "EURUSD", "action": "sell", "confidence": 2}'  # 422
    raw = await _exchange(port, _post("/webhook/test", first) + _post("/webhook/test", second, b"Connection: close\r\n"))
    statuses = [int(status) for status in re.findall(rb"HTTP/1\.1 (\d{3}) ", raw)]
    assert statuses == [200, 422], raw[:400]


async def test_100_continue_is_not_held_back(recorded):
    # The client waits for "100 Continue" before it sends the body: holding it would hang both sides.
    port, _ = recorded
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = _post("/webhook/test", SIGNAL, b"Expect: 100-continue\r\nConnection: close\r\n")
    writer.write(head[: -len(SIGNAL)])
    interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
    assert interim.startswith(b"HTTP/1.1 100 Continue")
    writer.write(SIGNAL)
    raw = await asyncio.wait_for(reader.read(-1), timeout=10)
    writer.close()
    assert _status_and_body(raw)[0] == 200


class _RecordingLines:
    """The outbox's lines, with each write recorded (in the same list as the socket writes)."""

    def __init__(self, real, writes: list):
        self._real = real
        self._writes = writes
        self._ids: list[str] = []

    def signal(self, event, signal, **fields) -> None:
        self._ids.append(signal.signal_id)
        self._real.signal(event, signal, **fields)

    def flush(self) -> None:
        if self._ids:  # an empty flush writes nothing
            self._writes.append(("log", list(self._ids)))
        self._ids.clear()
        self._real.flush()


async def test_each_answer_goes_out_after_its_signals_log_line(recorded, monkeypatch):
    # The lines of one loop turn are written together (outbox.py); no 200 may reach the client before its line.
    from agentic_trading.gateway.outbox import OUTBOX

    port, writes = recorded
    monkeypatch.setattr(OUTBOX, "_lines", _RecordingLines(OUTBOX._lines, writes))

    async def one(n: int) -> dict:
        body = b'{"instrument": "EURUSD", "action": "buy", "strategy": "s%d"}' % n
        return _status_and_body(await _exchange(port, _post("/webhook/tradingview", body, b"Connection: close\r\n")))[1]

    answers = await asyncio.gather(*(one(n) for n in range(8)))
    assert all(a["status"] == "accepted" for a in answers)
    logged: set[str] = set()
    answered = 0
    for write in writes:
        if isinstance(write, tuple):
            logged.update(write[1])
        elif write.startswith(b"HTTP/1.1 200"):
            answered += 1
            signal_id = orjson.loads(write.partition(b"\r\n\r\n")[2])["signal_id"]
            assert signal_id in logged, f"{signal_id} answered before its log line was written"
    assert answered == 8
    assert sum(1 for w in writes if isinstance(w, tuple)) <= 8
