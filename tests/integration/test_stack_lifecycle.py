"""atctl against a real stack of its own: up, status, a crash of Redis that supervisord repairs, down.

Runs every program that exists now (``available_programs``), on a port offset where all
their ports are free and in a temporary state directory, so it never touches a user's stack.
Offsets stay at or below 23000 so no port falls in the kernel's ephemeral range, where a
client connection could hold it by chance.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from typer.testing import CliRunner

from _support import eventually
from agentic_trading.cli.main import app
from agentic_trading.credentials import ADMIN, redis_url
from agentic_trading.settings import Settings
from agentic_trading.stack import ComponentStatus, Stack, available_programs
from agentic_trading.stack.ports import find_free_port_offset

pytestmark = pytest.mark.integration

runner = CliRunner()
ATCTL = str(Path(sys.executable).with_name("atctl"))


SECRET = "lifecycle-test-secret"


def _atctl(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"AT_WEBHOOK_SECRET": SECRET})
    return result.exit_code, result.output


@pytest.fixture
def own_stack(tmp_path: Path) -> Iterator[tuple[list[str], list[str]]]:
    """(program names, the --state-dir/--port-offset options) of a stack this test owns."""
    programs = available_programs()
    names = [p.name for p in programs]
    assert {"nats", "redis"} <= set(names), "nats-server and redis-server must be installed (scripts/bootstrap.sh)"
    state_dir = tmp_path / "state"
    requested = os.environ.get("AT_TEST_LIFECYCLE_PORT_OFFSET")
    offset = (
        int(requested)
        if requested
        else find_free_port_offset(Settings(state_dir=state_dir), programs, candidates=range(20000, 23001, 100))
    )
    assert offset is not None, "no port offset with all ports free between 20000 and 23000"
    options = ["--state-dir", str(state_dir), "--port-offset", str(offset)]
    try:
        yield names, options
    finally:
        if (state_dir / "stack.json").exists():
            Stack.attach(state_dir).down()  # whatever the test left running


def _status(options: list[str]) -> dict[str, ComponentStatus]:
    state_dir = options[options.index("--state-dir") + 1]
    return {s.name: s for s in Stack.attach(state_dir).status()}


def test_up_status_kill_restart_down(own_stack: tuple[list[str], list[str]]) -> None:
    names, options = own_stack

    code, output = _atctl("up", "--only", ",".join(names), "--timeout", "90", *options)
    assert code == 0, output
    assert "Stack is up" in output

    code, output = _atctl("status", "--format", "json", *options)
    assert code == 0, output
    body = json.loads(output)
    assert {c["name"] for c in body["components"]} == set(names)
    assert all(c["state"] == "RUNNING" and c["healthy"] for c in body["components"]), output
    old_pid = _status(options)["redis"].pid

    # The webhook secret reaches the programs through the environment, never through a file.
    # (The gateway's environment: redis-server overwrites its own to set its process title.)
    state_dir = Path(options[options.index("--state-dir") + 1])
    if "gateway" in names:
        gateway_pid = _status(options)["gateway"].pid
        assert f"AT_WEBHOOK_SECRET={SECRET}".encode() in Path(f"/proc/{gateway_pid}/environ").read_bytes()
    # ... and the gateway alone: grep every /proc/*/environ (supervisord holds it to hand it on).
    supervisord_pid = int((state_dir / "supervisord.pid").read_text())
    holders = set()
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if SECRET.encode() in environ.read_bytes():
                holders.add(int(environ.parent.name))
        except OSError:
            continue  # another user's process, or one that just exited
    # The canary signs its test signals like any sender (credentials.SECRET_VARIABLE_HOLDERS).
    canary = _status(options).get("canary") if "canary" in names else None
    expected = (
        {supervisord_pid} | ({gateway_pid} if "gateway" in names else set()) | ({canary.pid} if canary and canary.pid else set())
    )
    assert holders - {os.getpid()} == expected, f"webhook secret in {holders}, expected {expected}"
    for path in state_dir.rglob("*"):
        if path.is_file() and path.suffix in (".conf", ".json", ".yml", ".yaml"):
            assert SECRET not in path.read_text(errors="replace"), f"secret written to {path}"

    _traffic_tools_sign_with_the_recorded_secret(state_dir)

    admin = redis.Redis.from_url(redis_url(Stack.attach(state_dir).settings, ADMIN), socket_timeout=5)
    # A Lua script's writes reach the append-only file as one MULTI/EXEC, as the orchestrator's do.
    admin.eval("redis.call('SET', KEYS[1], ARGV[1]); redis.call('SET', KEYS[2], ARGV[1])", 2, "at:probe:1", "at:probe:2", "kept")
    code, output = _atctl("kill", "redis", *options)
    assert code == 0, output

    def redis_restarted() -> ComponentStatus | None:
        redis = _status(options)["redis"]
        return redis if redis.pid not in (None, old_pid) and redis.state == "RUNNING" and redis.healthy else None

    eventually(redis_restarted, timeout_s=30, interval_s=0.2, what="supervisord restarting redis")
    # Replayed from the append-only file as the default user (stack/access.py says why it is not off).
    assert admin.mget("at:probe:1", "at:probe:2") == [b"kept", b"kept"]
    assert "NOPERM" not in (state_dir / "logs" / "redis.log").read_text(errors="replace")

    # A real atctl process, as a user runs it: stdout holds only its own lines even with --debug,
    # and the debug line it logs while resolving open alerts (alerts/shutdown.py) is on stderr.
    down = subprocess.run(
        [ATCTL, "down", "--debug", *options],
        env={**os.environ, "AT_WEBHOOK_SECRET": SECRET, "COLUMNS": "300"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert down.returncode == 0, down.stderr
    assert down.stdout.splitlines() == [f"Stopped the stack in {state_dir}.", "Data kept; `atctl down --purge` deletes it."]
    if "alertmanager" in names:
        assert "[debug] alerts_resolved_at_shutdown" in down.stderr, down.stderr
    code, output = _atctl("status", *options)
    assert code == 2, output


def _traffic_tools_sign_with_the_recorded_secret(state_dir: Path) -> None:
    """`atctl up` keeps the secret as secrets/webhook_secret (0600 in 0700); load and generate sign with it.

    They run without AT_WEBHOOK_SECRET and with --state-dir alone (no --port-offset), as a
    user would in a new shell: every answer must be 200, not 401.
    """
    secret_file = state_dir / "secrets" / "webhook_secret"
    assert secret_file.read_text() == SECRET
    assert secret_file.stat().st_mode & 0o777 == 0o600
    assert secret_file.parent.stat().st_mode & 0o777 == 0o700
    no_secret = {"AT_WEBHOOK_SECRET": None, "AT_PORT_OFFSET": None}
    where = ["--state-dir", str(state_dir), "--format", "json"]
    generated = runner.invoke(app, ["generate", "burst", "--threads", "4", "--per-thread", "5", *where], env=no_secret)
    assert generated.exit_code == 0, generated.output
    report = json.loads(generated.stdout)
    assert report["signed"] is True and report["statuses"] == {"200": 20}, report
    loaded = runner.invoke(app, ["load", "--rate", "50", "--duration", "1", "-q", *where], env=no_secret)
    assert loaded.exit_code == 0, loaded.output
    load_report = json.loads(loaded.stdout)
    assert load_report["target"].endswith("/webhook/test")
    assert load_report["status_codes"] == {"200": load_report["requests"]} and load_report["requests"] >= 45, load_report
