"""What tests in every folder share: free loopback ports, polling with a deadline, the tools they run.

Importable as ``from _support import ...`` from unit, integration and fuzz tests alike
(``pythonpath = ["tests"]`` in pyproject.toml). Waiting is always a poll with a
deadline that fails the test saying what did not happen, never a blind sleep.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from agentic_trading.chaos.experiment import Experiment

T = TypeVar("T")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the kernel's pick)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_port_near(start: int) -> int:
    """A free port just above ``start`` (a stack's own ports: kept out of the kernel's range for outgoing ports)."""
    for port in range(start, start + 200):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError(f"no free port in {start}..{start + 199}")


def stop_process(process: subprocess.Popen, timeout_s: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if it has not exited within ``timeout_s``: a process a test started."""
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def poll_until(
    check: Callable[[], T | None],
    *,
    timeout_s: float = 10.0,
    interval_s: float = 0.05,
    what: str = "condition",
    not_yet: tuple[type[BaseException], ...] = (),
) -> T:
    """The first truthy result of ``check``, tried at least once and once more at the deadline.

    An exception in ``not_yet`` (e.g. ``httpx.TransportError``: not listening yet) counts
    as a falsy result. Fails the test with ``what`` and the last value seen when none
    comes within ``timeout_s``.
    """
    started = time.monotonic()
    while True:
        try:
            last = check()
        except not_yet as exc:
            last = exc  # type: ignore[assignment]
        if last and not isinstance(last, BaseException):
            return last
        if time.monotonic() - started > timeout_s:
            raise AssertionError(f"{what}: not within {timeout_s} s (last seen: {last!r})")
        time.sleep(interval_s)


def eventually(check: Callable[[], T | None], *, timeout_s: float, interval_s: float = 0.1, what: str) -> tuple[T, float]:
    """:func:`poll_until`, also returning how many seconds it took (integration tests report it)."""
    started = time.monotonic()
    value = poll_until(check, timeout_s=timeout_s, interval_s=interval_s, what=what)
    return value, time.monotonic() - started


async def async_poll_until(
    check: Callable[[], T | None | Awaitable[T | None]],
    *,
    timeout_s: float = 5.0,
    interval_s: float = 0.005,
    what: str = "condition",
) -> T:
    """:func:`poll_until` inside an event loop: ``check`` may be sync or async; the loop keeps running."""
    started = time.monotonic()
    while True:
        last = check()
        if asyncio.iscoroutine(last) or isinstance(last, asyncio.Future):
            last = await last
        if last:
            return last  # type: ignore[return-value]
        if time.monotonic() - started > timeout_s:
            raise AssertionError(f"{what}: not within {timeout_s} s (last seen: {last!r})")
        await asyncio.sleep(interval_s)


def answers_ok(url: str) -> bool:
    """True when ``url`` answers 200 within half a second (a server's health endpoint)."""
    import httpx

    try:
        return httpx.get(url, timeout=0.5).status_code == 200
    except httpx.HTTPError:
        return False


def port_answers(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for_port(port: int, process: subprocess.Popen[bytes] | None = None, timeout_s: float = 10.0) -> None:
    """Until something listens on 127.0.0.1:``port``; fails at once when ``process`` has exited instead."""

    def listening() -> bool:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"{process.args[0]} exited with {process.returncode} before listening on port {port}")
        return port_answers(port)

    poll_until(listening, timeout_s=timeout_s, interval_s=0.02, what=f"something listening on 127.0.0.1:{port}")


def required_binary(*names: str, package: str) -> str:
    """The path of the first of ``names`` installed; fails the test naming the Debian package otherwise."""
    for name in names:
        if path := shutil.which(name):
            return path
    pytest.fail(f"{names[0]} is not installed (Debian package {package}): run scripts/bootstrap.sh (make test does)")


def promtool() -> str:
    """promtool, from the Debian package prometheus."""
    return required_binary("promtool", package="prometheus")


def chaos_experiment(
    name: str,
    alert: str,
    *,
    also: tuple[str, ...] = (),
    touches: tuple[str, ...] = (),
    needs: tuple[str, ...] = (),
    resolve_s: float = 5.0,
) -> Experiment:
    """An experiment as the scheduler sees it (no file, no method): for the chaos scheduling tests."""
    return Experiment(
        name,
        Path(f"chaos/{name}.yaml"),
        name,
        alert,
        "fault",
        document={},
        also_notified={a: "why" for a in also},
        resolve_within_s=resolve_s,
        touches=frozenset(touches),
        needs=frozenset(needs),
    )
