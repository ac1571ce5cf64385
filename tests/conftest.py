"""Fixtures shared by every test: real servers on free loopback ports, stopped afterwards."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from _support import free_port, promtool, required_binary, wait_for_port


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
