"""Fixtures shared by every test: real servers on free loopback ports, stopped afterwards."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from _support import answers_ok, free_port, poll_until, promtool, required_binary, wait_for_port


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server for tests that need Redis but not the whole stack."""
    binary = required_binary("redis-server", package="redis-server")
    port = free_port()
    workdir: Path = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, proc)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@dataclass(frozen=True)
class NatsServer:
    url: str
    monitor_url: str


@pytest.fixture(scope="module")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """A real nats-server with JetStream and its monitoring endpoint."""
    binary = required_binary("nats-server", package="nats-server")
    port, monitor_port = free_port(), free_port()
    store = tmp_path_factory.mktemp("nats")
    proc = subprocess.Popen(
        [binary, "-js", "-a", "127.0.0.1", "-p", str(port), "-m", str(monitor_port), "-sd", str(store)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    server = NatsServer(url=f"nats://127.0.0.1:{port}", monitor_url=f"http://127.0.0.1:{monitor_port}")
    try:
        poll_until(lambda: answers_ok(f"{server.monitor_url}/healthz"), what="nats-server monitoring answering")
        yield server
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(name="promtool")
def promtool_binary() -> str:
    """promtool's path; the test fails (naming the Debian package) when it is not installed."""
    return promtool()


@pytest.fixture
def promtool_check(promtool: str) -> Callable[[bytes], None]:
    """Fails the test unless ``promtool check metrics`` finds nothing wrong in an exposition."""
    binary = promtool

    def check(exposition: bytes) -> None:
        result = subprocess.run([binary, "check", "metrics"], input=exposition, capture_output=True, timeout=10)
        problems = (result.stdout + result.stderr).decode().strip()
        assert result.returncode == 0 and not problems, f"promtool check metrics: {problems}"

    return check
