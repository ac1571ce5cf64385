"""Redis ACL users and NATS users per service: rendered configs the real servers accept, and refuse strangers with."""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from _support import free_port, poll_until
from agentic_trading.credentials import ADMIN, NATS_USERS, REDIS_USERS, redis_secret_name
from agentic_trading.settings import Settings
from agentic_trading.stack.access import (
    NATS_PERMISSIONS,
    REDIS_RULES,
    ensure_credentials,
    render_nats_authorization,
    render_redis_acl,
)
from agentic_trading.stack.environment import supervisord_environment, without_foreign_secrets
from agentic_trading.stack.paths import StackPaths
from agentic_trading.stack.secrets import read_secret


def test_every_user_has_rules_and_a_password_that_is_kept(tmp_path: Path) -> None:
    paths = StackPaths.of(tmp_path)
    first = ensure_credentials(paths)
    assert set(REDIS_RULES) == set(REDIS_USERS) and set(NATS_PERMISSIONS) == set(NATS_USERS)
    assert ensure_credentials(paths) == first  # the same passwords and hashes: configs do not churn
    assert read_secret(paths, redis_secret_name(ADMIN)) == first.redis[ADMIN]
    assert (tmp_path / "secrets").stat().st_mode & 0o777 == 0o700


def test_configs_hold_hashes_never_passwords(tmp_path: Path) -> None:
    credentials = ensure_credentials(StackPaths.of(tmp_path))
    text = render_redis_acl(credentials.redis) + render_nats_authorization(credentials.nats_hashes)
    for password in [*credentials.redis.values(), *credentials.nats.values()]:
        assert password not in text
    assert "user default on resetpass ~* &* +@all" in text  # no password: nobody can AUTH as it


def test_only_the_gateway_keeps_the_webhook_secret_and_only_the_viewer_its_password() -> None:
    assert without_foreign_secrets("gateway", ["/x"]) == ["/usr/bin/env", "-u", "AT_DASHBOARDS_PASSWORD", "--", "/x"]
    assert without_foreign_secrets("dashboards", ["/x"]) == ["/usr/bin/env", "-u", "AT_WEBHOOK_SECRET", "--", "/x"]
    assert without_foreign_secrets("prometheus", ["/x"]) == [
        "/usr/bin/env",
        "-u",
        "AT_DASHBOARDS_PASSWORD",
        "-u",
        "AT_WEBHOOK_SECRET",
        "--",
        "/x",
    ]
    env = supervisord_environment(Settings(webhook_secret="s3cret-value"), {"AT_HOST": "0.0.0.0", "HOME": "/h"})
    assert env == {"HOME": "/h", "AT_WEBHOOK_SECRET": "s3cret-value"}


def _redis(port: int, *commands: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
        conn.sendall(b"".join(commands))
        conn.settimeout(2)
        data = b""
        while data.count(b"\r\n") < len(commands):
            data += conn.recv(4096)
        return data


def _try_redis(port: int, command: bytes) -> bytes | None:
    try:
        return _redis(port, command)
    except OSError:
        return None


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")
def test_redis_refuses_anonymous_and_confines_each_user(tmp_path: Path) -> None:
    credentials = ensure_credentials(StackPaths.of(tmp_path))
    port = free_port()
    conf = tmp_path / "redis.conf"
    conf.write_text(f'port {port}\nbind 127.0.0.1\nsave ""\ndir {tmp_path}\n' + render_redis_acl(credentials.redis))
    server = subprocess.Popen(["redis-server", str(conf)], stdout=subprocess.DEVNULL)
    try:
        anonymous = poll_until(lambda: _try_redis(port, b"PING\r\n"), timeout_s=10, what="redis-server listening")
        assert anonymous.startswith(b"-NOAUTH"), anonymous
        gateway = f"AUTH gateway {credentials.redis['gateway']}\r\n".encode()
        # The gateway reads pipeline keys but cannot write, reconfigure Redis, or read other keys.
        reply = _redis(port, gateway, b"GET at:x\r\n", b"SET at:x 1\r\n", b"CONFIG SET maxmemory 1\r\n", b"GET other\r\n")
        lines = reply.split(b"\r\n")
        assert lines[0] == b"+OK" and lines[1] == b"$-1"
        assert all(line.startswith(b"-NOPERM") for line in lines[2:5]), reply
        orchestrator = f"AUTH orchestrator {credentials.redis['orchestrator']}\r\n".encode()
        lines = _redis(port, orchestrator, b"SET at:x 1\r\n", b"FLUSHALL\r\n").split(b"\r\n")
        assert lines[:2] == [b"+OK", b"+OK"] and lines[2].startswith(b"-NOPERM"), lines
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.skipif(shutil.which("nats-server", path="/usr/sbin:/usr/bin") is None, reason="nats-server not installed")
def test_nats_server_accepts_the_authorization_block(tmp_path: Path) -> None:
    credentials = ensure_credentials(StackPaths.of(tmp_path))
    conf = tmp_path / "nats.conf"
    conf.write_text("port: 4222\n" + render_nats_authorization(credentials.nats_hashes))
    binary = shutil.which("nats-server", path="/usr/sbin:/usr/bin")
    result = subprocess.run([binary, "-t", "-c", str(conf)], capture_output=True, text=True, timeout=10)  # type: ignore[list-item]
    assert result.returncode == 0, result.stderr
