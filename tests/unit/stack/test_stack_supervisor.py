"""The supervisord client without a supervisord: errors say there is no stack and what to do."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from _support import free_port
from agentic_trading.settings import Settings
from agentic_trading.stack.errors import NoStackError
from agentic_trading.stack.health import HttpProbe, RedisProbe
from agentic_trading.stack.supervisor import SupervisorClient


def test_missing_socket_means_no_stack(tmp_path: Path) -> None:
    client = SupervisorClient(tmp_path / "supervisor.sock")
    assert not client.is_running()
    with pytest.raises(NoStackError, match=r"start one with `atctl up`"):
        client.info()


def test_http_probe_reports_connection_refused(tmp_path: Path) -> None:
    health = HttpProbe("gateway", "/healthz").check(Settings(state_dir=tmp_path, gateway_port=free_port()))
    assert not health.ok
    assert health.detail == "connection refused"


def test_redis_probe_wants_pong(tmp_path: Path) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]

    def answer() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(64)
            conn.sendall(b"-LOADING Redis is loading the dataset in memory\r\n")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        health = RedisProbe().check(Settings(state_dir=tmp_path, redis_port=port))
    finally:
        thread.join(timeout=5)
        server.close()
    assert not health.ok
    assert "LOADING" in health.detail
