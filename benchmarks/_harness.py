"""What the benchmarks share: peers, wrk, a stack of our own, and where results go.

Every benchmark measures side by side in one run, on loopback only, with bounded durations.
Ratios between rows of one run are what to trust on a shared machine; absolute figures move.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import httpx
from rich.console import Console

from agentic_trading.cli.console_log import configure_console_logging
from agentic_trading.settings import Settings
from agentic_trading.stack import Stack

# Library log lines (e.g. Stack.down's debug line) on stderr, warnings and above, as atctl does:
# a benchmark's stdout holds its own report.
configure_console_logging(debug=False)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
IMAGES = ROOT / "docs" / "images"
console = Console(stderr=True, highlight=False)

WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
counter = 0
request = function()
  counter = counter + 1
  return wrk.format(nil, nil, nil,
    '{"instrument":"EURUSD","action":"buy","confidence":0.8,"strategy":"wrk-' .. counter .. '"}')
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout_s: float = 15.0, proc: subprocess.Popen | None = None) -> None:
    """Poll until something listens on ``port``; fail at once, saying why, if ``proc`` exits first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(
                f"{' '.join(map(str, proc.args))} exited with code {proc.returncode} before listening on port {port}; "
                "run it by hand to see why (the Flask peer needs the bench extra: pip install -e '.[bench]', as make bench does)"
            )
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout_s} s")


def machine() -> dict[str, Any]:
    load1, load5, _ = os.getloadavg()
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "load_average_at_start": [round(load1, 2), round(load5, 2)],
        "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


@contextmanager
def own_stack(programs: list[str], port_offset: int) -> Iterator[Stack]:
    """A stack of our own (only ``programs``) in a temporary state directory, always stopped."""
    with tempfile.TemporaryDirectory(prefix="at-bench-") as tmp:
        stack = Stack(Settings(state_dir=Path(tmp) / "state", port_offset=port_offset))
        console.print(f"starting {', '.join(programs)} at port offset {port_offset} …")
        try:
            stack.up(programs, timeout=180)  # a busy shared machine starts a dozen Python programs slowly
            yield stack
        finally:
            stack.down()


class Peer(NamedTuple):
    """A peer server for the comparison: where to send, and its process (for its CPU)."""

    url: str
    pid: int


@contextmanager
def flask_peer(workers: int = 1) -> Iterator[Peer]:
    """The Flask peer, with ``workers`` processes on its port (its CPU counts them all)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "benchmarks" / "peers" / "flask_receiver.py"), str(port), str(workers)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, proc=proc)
        yield Peer(f"http://127.0.0.1:{port}/webhook/tradingview", proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextmanager
def nginx_peer() -> Iterator[Peer]:
    binary = shutil.which("nginx", path=os.environ.get("PATH", "") + ":/usr/sbin")
    if binary is None:
        raise SystemExit("nginx is not installed: apt-get install nginx-light (make bench does)")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="at-nginx-") as state:
        template = (ROOT / "benchmarks" / "peers" / "nginx.conf.template").read_text()
        conf = Path(state) / "nginx.conf"
        conf.write_text(template.format(state=state, port=port))
        proc = subprocess.Popen([binary, "-c", str(conf), "-p", state], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(port, proc=proc)
            yield Peer(f"http://127.0.0.1:{port}/webhook/tradingview", proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=10)


_LATENCY = re.compile(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def run_wrk(url: str, *, duration_s: float, connections: int = 50) -> dict[str, Any]:
    """wrk -t1 -cN -dD --latency with distinct POST bodies; closed-loop figures at saturation."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    try:
        out = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{duration_s:g}s", "--latency", "-s", script.name, url],
            capture_output=True,
            text=True,
            timeout=duration_s + 30,
            check=True,
        ).stdout
    finally:
        os.unlink(script.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    latency = {f"p{q}": round(float(v) * _UNITS_MS[u], 3) for q, v, u in _LATENCY.findall(out)}
    return {"tool": "wrk", "connections": connections, "rps": round(rps, 1), "requests": total,
            "non_2xx": int(non2xx.group(1)) if non2xx else 0, "latency_ms": latency}  # fmt: skip


def stream_state(stack: Stack, name: str) -> dict[str, int]:
    """A JetStream stream's state (``messages``, ``last_seq``, …) from the stack's NATS monitor."""
    jsz = httpx.get(stack.settings.url("nats-monitor") + "/jsz", params={"streams": "true"}, timeout=5).json()
    for account in jsz.get("account_details", []):
        for stream in account.get("stream_detail", []):
            if stream["name"] == name:
                return stream["state"]
    return {"messages": 0, "last_seq": 0}


def write_result(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    console.print(f"results: {path.relative_to(ROOT)}")
    return path


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, int(round(q / 100 * len(ordered) + 0.5)))
    return ordered[min(rank, len(ordered)) - 1]
