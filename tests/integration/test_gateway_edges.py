"""Input edges against the live gateway process: what a hostile or careless client sends gets a 4xx it can read.

These run over raw sockets to the session stack's gateway (uvicorn, the real protocol class),
so an answer the server wrote but the client never saw (a reset) fails the test.
"""

from __future__ import annotations

import socket
import time

import orjson
import pytest
from _live import LiveStack

pytestmark = pytest.mark.integration

HUGE_HEADER_BYTES = 100 * 1024 * 1024
CHUNK = b"a" * (1024 * 1024)
RSS_GROWTH_LIMIT_KB = 10 * 1024


def _gateway_pid(live: LiveStack) -> int:
    [gateway] = [s for s in live.stack.status() if s.name == "gateway"]
    assert gateway.pid, gateway
    return gateway.pid


def _rss_kb(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


def _read_answer(sock: socket.socket) -> tuple[int, dict]:
    received = b""
    sock.settimeout(10)
    while True:
        data = sock.recv(65536)
        if not data:
            break
        received += data
    head, _, body = received.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), orjson.loads(body)


def test_a_100_mb_header_gets_431_without_growing_the_gateway(live: LiveStack):
    pid = _gateway_pid(live)
    before = _rss_kb(pid)
    port = live.settings.port("gateway")
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST /webhook/test HTTP/1.1\r\nHost: gw\r\nX-Huge: ")
        sent = 0
        try:
            while sent < HUGE_HEADER_BYTES:
                sock.sendall(CHUNK)
                sent += len(CHUNK)
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise AssertionError(f"the gateway closed the connection after {sent} bytes instead of lingering: {exc}") from exc
        sock.shutdown(socket.SHUT_WR)
        status, body = _read_answer(sock)
    grown = _rss_kb(pid) - before
    assert status == 431, body
    assert body["errors"][0]["field"] == "headers"
    assert grown < RSS_GROWTH_LIMIT_KB, f"RSS grew by {grown} KiB over {time.monotonic() - started:.1f} s"
    assert live.metric_sample("gateway", "gateway_webhooks_total", endpoint="test", status="431") >= 1


def test_depth_300_nesting_is_400_not_500(live: LiveStack):
    deep = b'{"instrument": "EURUSD", "action": "hold", "timestamp": "2024-01-15T10:30:00Z", "x": '
    deep += b"[" * 300 + b"]" * 300 + b"}"
    response = live.http.post(live.url("gateway") + "/webhook/test", content=deep, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == "body"


def test_a_form_post_is_415_naming_content_type(live: LiveStack):
    response = live.http.post(live.url("gateway") + "/webhook/test", data={"instrument": "EURUSD", "action": "hold"})
    assert response.status_code == 415
    assert response.json()["errors"][0]["field"] == "Content-Type"


def test_a_body_over_the_limit_gets_a_413_the_client_reads(live: LiveStack):
    port = live.settings.port("gateway")
    size = 8 * 1024 * 1024
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            f"POST /webhook/test HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n\r\n".encode()
        )
        for _ in range(size // len(CHUNK)):
            sock.sendall(CHUNK)
        status, body = _read_answer(sock)
    assert status == 413 and body["errors"][0]["reason"] == "body_too_large"
