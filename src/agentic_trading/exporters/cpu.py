"""CPU usage of a process tree over an interval: pure maths on two samples, no psutil here.

A sample maps every process of the tree, keyed by (pid, create_time) so a reused pid is
a new process, to the CPU seconds (user + system) it has used so far. The busy time of
an interval is what each process used between the two samples; a process born during
the interval counts whole, one that died during it loses its last partial interval.
Children's ``children_user``/``children_system`` are left out on purpose: a reaped
worker's time would otherwise be counted twice (once live, once in its parent).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

# psutil derives create_time from the boot time, which /proc/stat gives in whole seconds.
CREATE_TIME_SLACK_S = 1.0


class ProcessKey(NamedTuple):
    pid: int
    create_time: float  # Unix time


@dataclass(frozen=True)
class TreeSample:
    """CPU seconds and resident memory of one process tree at one moment."""

    taken_at: float  # time.monotonic(): intervals
    wall_time: float  # time.time(): compared with create_time
    cpu_seconds: Mapping[ProcessKey, float] = field(default_factory=dict)
    rss_bytes: int = 0


def clamp(value: float, low: float = 0.0, high: float = 100.0) -> float:
    return min(high, max(low, value))


def busy_cpu_seconds(previous: TreeSample, current: TreeSample) -> float:
    """CPU seconds the tree used between two samples."""
    busy = 0.0
    for key, seconds in current.cpu_seconds.items():
        before = previous.cpu_seconds.get(key)
        if before is not None:
            busy += max(0.0, seconds - before)
        elif key.create_time >= previous.wall_time - CREATE_TIME_SLACK_S:
            busy += seconds  # born during the interval: all its time is in it
        # else: it existed before but the previous sample missed it; its past is not ours to count
    return busy


def cpu_usage_percent(busy_seconds: float, elapsed_seconds: float, cores: int) -> float:
    """Busy time as a share of all cores over the interval, 0..100 (100 = every core busy)."""
    if elapsed_seconds <= 0:
        raise ValueError(f"elapsed_seconds must be positive, got {elapsed_seconds}")
    if cores < 1:
        raise ValueError(f"cores must be at least 1, got {cores}")
    return clamp(100.0 * busy_seconds / elapsed_seconds / cores)


def tree_cpu_percent(previous: TreeSample, current: TreeSample, cores: int) -> float | None:
    """The tree's CPU usage between two samples (0..100 of all cores), or None when they span no time."""
    elapsed = current.taken_at - previous.taken_at
    if elapsed <= 0:
        return None
    return cpu_usage_percent(busy_cpu_seconds(previous, current), elapsed, cores)
