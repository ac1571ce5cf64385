"""Real supervisord on free loopback ports, fixture files, and running an exporter as its own process (nats-server: tests/conftest.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from _support import answers_ok, free_port, poll_until

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def load_fixture() -> Callable[[str], object]:
    def load(name: str) -> object:
        return json.loads((FIXTURES / name).read_text())

    return load


@dataclass(frozen=True)
class Supervisord:
    socket_path: Path
    workdir: Path


SPIN = "import time\nwhile True:\n    pass\n"


@pytest.fixture(scope="module")
def supervisord(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Supervisord]:
    """A real supervisord running ``sleeper`` (idle), ``spinner`` (one busy core) and ``worker`` (numprocs=2)."""
    workdir = tmp_path_factory.mktemp("sv")
    (workdir / "spin.py").write_text(SPIN)
    socket_path = workdir / "supervisor.sock"
    config = workdir / "supervisord.conf"
    config.write_text(
        f"""
[unix_http_server]
file={socket_path}

[supervisord]
logfile={workdir}/supervisord.log
pidfile={workdir}/supervisord.pid
directory={workdir}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[program:sleeper]
command=/bin/sleep 600
startsecs=0
autorestart=true

[program:spinner]
command={sys.executable} {workdir}/spin.py
startsecs=0

[program:worker]
command=/bin/sleep 600
numprocs=2
process_name=%(program_name)s_%(process_num)02d
startsecs=0
"""
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "supervisor.supervisord", "-n", "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        poll_until(socket_path.exists, what="supervisord's socket")
        yield Supervisord(socket_path=socket_path, workdir=workdir)
    finally:
        proc.terminate()
        proc.wait(timeout=15)


@dataclass(frozen=True)
class RunningService:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path


@pytest.fixture
def run_module(tmp_path: Path) -> Iterator[Callable[..., RunningService]]:
    """Start ``python -m <module>`` with its port set through the environment; stopped (SIGTERM) afterwards."""
    started: list[subprocess.Popen[bytes]] = []

    def run(module: str, port_variable: str, *args: str) -> RunningService:
        port = free_port()
        env = {**os.environ, "AT_PORT_OFFSET": "0", port_variable: str(port), "AT_STATE_DIR": str(tmp_path)}
        log_path = tmp_path / f"{module}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen([sys.executable, "-m", module, *args], env=env, stdout=log, stderr=subprocess.STDOUT)
        started.append(proc)
        url = f"http://127.0.0.1:{port}"
        poll_until(lambda: proc.poll() is not None or answers_ok(f"{url}/healthz"), what=f"{module} answering /healthz")
        assert proc.poll() is None, f"{module} exited with {proc.returncode}: {log_path.read_text()}"
        return RunningService(url=url, process=proc, log_path=log_path)

    yield run
    for proc in started:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)
