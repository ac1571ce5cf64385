"""What supervisord's view of a process means to a user: paused or not, and its state in words."""

from __future__ import annotations

import time

import psutil

from agentic_trading.stack.errors import SupervisorError
from agentic_trading.stack.supervisor import BACKOFF, EXITED, FATAL, STARTING, STOPPED, ProcessInfo


def is_paused(pid: int) -> bool:
    """True when ``pid`` is stopped by SIGSTOP (supervisord still calls it RUNNING)."""
    if not pid:
        return False
    try:
        return psutil.Process(pid).status() in (psutil.STATUS_STOPPED, psutil.STATUS_TRACING_STOP)
    except psutil.Error:
        return False


def describe_state(info: ProcessInfo) -> str:
    """A short phrase for a program that is not running, with what to do about it."""
    why = (info.spawnerr or info.description).replace(" (process log may have details)", "")
    if info.state == STOPPED:
        return f"stopped: `atctl start {info.name}`"
    if info.state == STARTING:
        return "starting"
    if info.state == BACKOFF:
        return f"crashed, restarting ({why})" if why else "crashed, restarting"
    if info.state == FATAL:
        return f"gave up starting ({why})" if why else "gave up starting"
    if info.state == EXITED:
        return f"exited ({why})" if why else "exited"
    return info.state.lower()


EXIT_POLL_INTERVAL_S = 0.25


def wait_for_exit(pid: int, timeout: float, what: str) -> None:
    """Return once ``pid`` is gone (or a zombie); :class:`SupervisorError` naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            process = psutil.Process(pid)
            if process.status() == psutil.STATUS_ZOMBIE:
                return
        except psutil.NoSuchProcess:
            return
        if time.monotonic() >= deadline:
            raise SupervisorError(f"{what} is still running {timeout:g} s after shutdown: `kill {pid}`")
        time.sleep(EXIT_POLL_INTERVAL_S)
