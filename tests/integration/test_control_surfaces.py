"""Every control surface of the default stack refuses strangers, and `atctl verify --category security` notices a reopened one.

Each door is reopened for real, one at a time, and exactly its check must fail: Redis by
turning its anonymous ``default`` user back on (through the admin user, restored after),
NATS and Prometheus by pointing the check at a real nats-server without users and a real
Prometheus with ``--web.enable-lifecycle``, the environment check by a process of the stack
that holds the webhook secret without needing it.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import nats
import nats.errors
import pytest
import redis
from _live import LiveStack

from _support import eventually, free_port

pytestmark = pytest.mark.integration
ATCTL = str(Path(sys.executable).parent / "atctl")


def _verify_security(live: LiveStack, *extra: str) -> tuple[int, dict[str, str]]:
    """Run the CLI; exit code and each check's status."""
    command = [ATCTL, "verify", "--category", "security", "--format", "json", "--quiet", *extra]
    command += ["--state-dir", str(live.stack.paths.state_dir)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False, env={**os.environ, "COLUMNS": "80"})
    body = json.loads(result.stdout)
    return result.returncode, {r["name"]: r["status"] for r in body["checks"]}


def _failed(statuses: dict[str, str]) -> set[str]:
    return {name for name, status in statuses.items() if status == "failed"}


def test_anonymous_redis_nats_and_prometheus_quit_are_refused(live: LiveStack):
    with socket.create_connection(("127.0.0.1", live.settings.port("redis")), timeout=2) as conn:
        conn.sendall(b"PING\r\n")
        assert conn.recv(64).startswith(b"-NOAUTH")

    async def anonymous_nats() -> None:
        await nats.connect(live.settings.nats_url, connect_timeout=2, allow_reconnect=False, max_reconnect_attempts=0)

    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        asyncio.run(anonymous_nats())

    quit_ = live.http.post(live.url("prometheus") + "/-/quit")
    assert quit_.status_code == 403 and "not enabled" in quit_.text
    assert live.http.get(live.url("prometheus") + "/-/ready").status_code == 200  # still running


def test_verify_security_passes_and_fails_when_redis_is_reopened(live: LiveStack):
    code, statuses = _verify_security(live)
    assert code == 0 and not _failed(statuses), statuses
    admin = redis.Redis.from_url(live.redis_admin_url)
    try:
        admin.execute_command("ACL", "SETUSER", "default", "on", "nopass", "~*", "+@all")
        code, statuses = _verify_security(live)
        assert code == 1 and _failed(statuses) == {"redis anonymous"}, statuses
    finally:
        admin.execute_command("ACL", "SETUSER", "default", "off")
        admin.close()


@pytest.fixture
def open_nats(tmp_path: Path) -> Iterator[str]:
    """A real nats-server without users."""
    port = free_port()
    binary = shutil.which("nats-server", path="/usr/sbin:/usr/bin")
    assert binary, "nats-server is not installed: scripts/bootstrap.sh"
    server = subprocess.Popen([binary, "-a", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        eventually(lambda: _listening(port), timeout_s=10, what="nats-server listening")
        yield f"nats://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def test_verify_security_fails_on_an_nats_without_users(live: LiveStack, open_nats: str):
    code, statuses = _verify_security(live, "--nats-url", open_nats)
    assert code == 1 and _failed(statuses) == {"nats anonymous"}, statuses


@pytest.fixture
def lifecycle_prometheus(tmp_path: Path) -> Iterator[str]:
    """A real Prometheus with the lifecycle API on, as the stack ran it before."""
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 15s\n")
    command = [
        "/usr/bin/prometheus",
        f"--config.file={config}",
        f"--web.listen-address=127.0.0.1:{port}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        "--web.enable-lifecycle",
    ]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        eventually(lambda: _ready(url), timeout_s=30, what="prometheus ready")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=15)


def _ready(url: str) -> bool:
    try:
        return httpx.get(url + "/-/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_verify_security_fails_on_a_prometheus_with_the_lifecycle_api(live: LiveStack, lifecycle_prometheus: str):
    code, statuses = _verify_security(live, "--prometheus-url", lifecycle_prometheus)
    # (That Prometheus scrapes nothing, so the loopback check has nothing to judge either.)
    assert code == 1 and _failed(statuses) - {"endpoints on loopback"} == {"prometheus lifecycle"}, statuses
    assert _ready(lifecycle_prometheus)  # the probe (POST /-/reload) did not stop it


def test_verify_security_fails_when_a_stack_process_holds_a_secret_it_does_not_need(live: LiveStack):
    env = {
        **os.environ,
        "AT_STATE_DIR": str(live.settings.state_dir.resolve()),
        "SUPERVISOR_PROCESS_NAME": "agent-risk",
        "AT_WEBHOOK_SECRET": "stray-" + os.urandom(8).hex(),
    }
    stray = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], env=env, stdin=subprocess.PIPE)
    try:
        code, statuses = _verify_security(live)
        assert code == 1 and _failed(statuses) == {"secrets in environments"}, statuses
    finally:
        stray.communicate(timeout=10)
