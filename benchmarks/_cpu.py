"""CPU seconds each program of a stack spends, from /proc (user + system, via psutil).

On a shared machine rates and latencies move with other people's load; the CPU a program
spends per decided signal does not (much), so it is what to compare between versions.
"""

from __future__ import annotations

import time
from pathlib import Path

import psutil

from agentic_trading.stack import Stack


def cpu_seconds(stack: Stack) -> dict[str, float]:
    """user + system CPU seconds of every running program of ``stack`` (and its children).

    supervisord itself is counted too: it copies the daemons' output into their log files (and,
    before our programs wrote their own, every line they logged).
    """
    pids = {info.name: info.pid for info in stack.supervisor.info() if info.pid}
    pids["supervisord"] = stack.supervisor.pid()
    spent: dict[str, float] = {}
    for name, pid in pids.items():
        try:
            spent[name] = _own_cpu(psutil.Process(pid))
        except psutil.Error:
            continue
    return spent


def process_cpu(pid: int) -> float:
    """user + system CPU seconds of process ``pid`` and its children (a peer server: Flask, nginx)."""
    return _own_cpu(psutil.Process(pid))


def _own_cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    if proc.name().startswith("supervisord"):
        return times.user + times.system  # not its children: they are the programs
    total = times.user + times.system
    for child in proc.children(recursive=True):
        child_times = child.cpu_times()
        total += child_times.user + child_times.system
    return total


def wakeups(stack: Stack) -> dict[str, int]:
    """Times each program's threads went to sleep and were woken (voluntary context switches).

    Summed over every thread (``/proc/PID/task/*/status``; nats-server's goroutines run on
    several) and the children. A signal costs a wake-up on each side of every message and round
    trip it needs, and on two busy cores each one queues: unlike CPU seconds, the count hardly
    moves with other people's load, so it shows what batching saves.
    """
    pids = {info.name: info.pid for info in stack.supervisor.info() if info.pid}
    counts: dict[str, int] = {}
    for name, pid in pids.items():
        try:
            procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
        except psutil.Error:
            continue
        counts[name] = sum(_voluntary_switches(proc.pid) for proc in procs)
    return counts


def _voluntary_switches(pid: int) -> int:
    total = 0
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            status = (task / "status").read_text()
        except OSError:
            continue  # the thread ended meanwhile
        for line in status.splitlines():
            if line.startswith("voluntary_ctxt_switches:"):
                total += int(line.split()[1])
    return total


def per_signal_ms(before: dict[str, float], after: dict[str, float], signals: int) -> dict[str, float]:
    """CPU milliseconds per signal of each program between two samples (largest first)."""
    rows = {name: (after[name] - before[name]) * 1000 / max(1, signals) for name in after if name in before}
    return {name: round(ms, 3) for name, ms in sorted(rows.items(), key=lambda kv: -kv[1])}


IDLE_SAMPLE_S = 5.0


def idle_cores(stack: Stack, seconds: float = IDLE_SAMPLE_S) -> dict[str, float]:
    """Cores each program uses with no signals coming (its fixed per-second work)."""
    before = cpu_seconds(stack)
    time.sleep(seconds)  # a measurement window, not a wait for something to happen
    after = cpu_seconds(stack)
    return {name: (after[name] - before[name]) / seconds for name in after if name in before}


def marginal_ms(
    before: dict[str, float], after: dict[str, float], idle: dict[str, float], wall_s: float, signals: int
) -> dict[str, float]:
    """CPU milliseconds per signal above each program's idle use over ``wall_s`` (largest first)."""
    rows = {
        name: ((after[name] - before[name]) - idle.get(name, 0.0) * wall_s) * 1000 / max(1, signals)
        for name in after
        if name in before
    }
    return {name: round(ms, 3) for name, ms in sorted(rows.items(), key=lambda kv: -kv[1])}
