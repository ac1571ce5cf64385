"""Load faults: a flood of the specification's malformed webhooks, Redis memory pressure, a CPU spin in Redis.

All are real work, not configuration tricks: the flood goes through the gateway's
validation like a misconfigured sender's would, the Redis fill writes real keys (under
``at:chaos:fill:``, deleted on repair) until ``used_memory`` reaches a share of ``maxmemory``,
and the spin keeps Redis' single thread busy with Lua (:class:`RedisSpin`).
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
import redis

from agentic_trading.chaos._loop import BackgroundLoop
from agentic_trading.chaos.errors import FaultError, FaultUnavailableError
from agentic_trading.chaos.measure import judge_cpu_first_hold, judge_cpu_share
from agentic_trading.chaos.observe import AlertPath
from agentic_trading.load.payloads import MALFORMED_PAYLOADS
from agentic_trading.settings import Settings

FILL_PREFIX = "at:chaos:fill:"
FILL_VALUE_BYTES = 1024 * 1024
FILL_TIMEOUT_S = 60.0


class MalformedFlood:
    """The specification's malformed payloads, round robin, at ``per_s`` until :meth:`stop`."""

    def __init__(self, settings: Settings, loop: BackgroundLoop, per_s: float):
        self.url = settings.url("gateway") + "/webhook/tradingview"
        self.loop = loop
        self.per_s = per_s
        self.statuses: dict[int | None, int] = {}
        self._stop: asyncio.Event | None = None
        self._task: object | None = None

    def start(self) -> None:
        self._task = self.loop.spawn(self._flood())

    def stop(self) -> None:
        if self._task is None:
            return
        stop = self._stop
        if stop is not None:
            self.loop.loop.call_soon_threadsafe(stop.set)
        self._task.result(15)  # type: ignore[attr-defined]
        self._task = None

    async def _flood(self) -> None:
        self._stop = asyncio.Event()
        interval = 1.0 / self.per_s
        async with httpx.AsyncClient(timeout=5.0) as client:
            started = time.monotonic()
            n = 0
            while not self._stop.is_set():
                payload = MALFORMED_PAYLOADS[n % len(MALFORMED_PAYLOADS)]
                try:
                    status: int | None = (await client.post(self.url, json=payload)).status_code
                except httpx.HTTPError:
                    status = None
                self.statuses[status] = self.statuses.get(status, 0) + 1
                n += 1
                delay = started + n * interval - time.monotonic()
                if delay > 0:
                    with suppress(TimeoutError):  # the normal case: no stop before the next send
                        await asyncio.wait_for(self._stop.wait(), delay)


def redis_memory_percent(client: redis.Redis) -> float:
    info = client.info("memory")
    maxmemory = int(info.get("maxmemory") or 0)
    if maxmemory <= 0:
        raise FaultError("Redis has no maxmemory: memory pressure has no ceiling to approach (redis.conf maxmemory)")
    return 100.0 * int(info["used_memory"]) / maxmemory


def fill_redis(redis_url: str, percent: float) -> float:
    """Write 1 MB keys until Redis uses ``percent`` of maxmemory; return the percentage reached."""
    client = redis.Redis.from_url(redis_url, socket_timeout=10)
    try:
        deadline = time.monotonic() + FILL_TIMEOUT_S
        value = b"x" * FILL_VALUE_BYTES
        n = 0
        while (reached := redis_memory_percent(client)) < percent:
            if time.monotonic() >= deadline:
                raise FaultError(
                    f"Redis reached only {reached:.1f} % of maxmemory in {FILL_TIMEOUT_S:g} s (target {percent:g} %)"
                )
            info = client.info("memory")
            missing = int(info["maxmemory"]) * percent / 100 - int(info["used_memory"])
            batch = max(1, min(16, int(missing // FILL_VALUE_BYTES) + 1))
            pipe = client.pipeline(transaction=False)
            for _ in range(batch):
                pipe.set(f"{FILL_PREFIX}{n}", value)
                n += 1
            pipe.execute()
        return reached
    finally:
        client.close()


def free_redis(redis_url: str) -> int:
    """Delete every fill key and compact the append-only file; return how many keys.

    Without the rewrite the AOF would keep the fill (hundreds of MB) and a later restart of
    Redis would replay it: the experiment would slow down whatever comes after it.
    """
    client = redis.Redis.from_url(redis_url, socket_timeout=10)
    try:
        keys = list(client.scan_iter(match=FILL_PREFIX + "*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
        if keys:
            with suppress(redis.ResponseError):  # a rewrite already running compacts it too
                client.bgrewriteaof()
        return len(keys)
    finally:
        client.close()


# Busy for ARGV[1] microseconds of Redis' own clock, then return: other clients are served
# between two chunks, so Redis stays up (no RedisDown) while its one thread has no idle time.
SPIN_SCRIPT = """
local t = redis.call('TIME')
local start = t[1] * 1000000 + t[2]
repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] - start >= tonumber(ARGV[1])
return 1
"""
SPIN_CHUNK_US = 10_000
SPIN_PIPELINE = 10  # chunks sent at once by each of three connections: while Redis runs one
SPIN_CONNECTIONS = 3  # connection's chunks, the others' are already queued, so it never idles
# The spin's nice value, set on the spinning thread and on its scheduling group: with
# sched_autogroup (on in this VM's kernel) every session is a group that shares CPU with the
# others by the group's own weight, and a stack's programs are all in supervisord's session, so
# a thread's nice alone only ranked Redis above its own stack (69-97 % of a core per second at
# load 7-8; 83 % held at best over the 25 s hold). Measured per second at -10 on both: 81-100 %
# at load 15 (a 1 s dip below 90 % restarts the hold); at -15 (CFS weight 29154 against 1024
# for a task at 0): 95-100 % at load 23. The other core stays free for the rest of the machine
# (docs/chaos.md, "HighCPU on a shared machine").
SPIN_NICE = -15


@dataclass(frozen=True)
class Priority:
    """A thread's nice value and its scheduling group's (None: no autogroup on this kernel)."""

    thread: int
    group: int | None


def raise_priority(pid: int, nice: int, group_pid: int | None = None) -> Priority:
    """Set thread ``pid``'s nice value and its autogroup's to ``nice``; return what they were (to put back).

    ``group_pid``: a longer-lived member of the same group (the stack's supervisord), through
    which the group's weight is put back even if ``pid`` dies meanwhile.
    """
    via = group_pid if group_pid is not None else pid
    try:
        old = Priority(os.getpriority(os.PRIO_PROCESS, pid), _group_nice(via))
        os.setpriority(os.PRIO_PROCESS, pid, nice)
    except PermissionError as exc:
        raise FaultUnavailableError(
            f"cannot raise the priority of pid {pid} to nice {nice} ({exc}): run as root (CAP_SYS_NICE)"
        ) from exc
    except (ProcessLookupError, FileNotFoundError) as exc:
        raise FaultError(f"no process {pid} to spin: is it running? (atctl status)") from exc
    if old.group is not None:
        try:
            _autogroup(via).write_text(str(nice))
        except OSError as exc:
            restore_priority(pid, Priority(old.thread, None))
            raise FaultUnavailableError(f"cannot raise the scheduling group of pid {via} to nice {nice} ({exc})") from exc
    return old


def restore_priority(pid: int, old: Priority, group_pid: int | None = None) -> None:
    """Put thread ``pid``'s nice value and its group's back (a process that is gone needs nothing)."""
    with suppress(ProcessLookupError):
        os.setpriority(os.PRIO_PROCESS, pid, old.thread)
    if old.group is not None:
        with suppress(FileNotFoundError, ProcessLookupError):
            _autogroup(group_pid if group_pid is not None else pid).write_text(str(old.group))


def _autogroup(pid: int) -> Path:
    return Path(f"/proc/{pid}/autogroup")


def _group_nice(pid: int) -> int | None:
    """The nice value of ``pid``'s autogroup ("/autogroup-1087 nice 0"), None without autogroups."""
    try:
        text = _autogroup(pid).read_text()
    except FileNotFoundError:
        if not Path(f"/proc/{pid}").exists():
            raise
        return None
    found = re.search(r"nice\s+(-?\d+)", text)
    return int(found.group(1)) if found else None


class RedisSpin:
    """A single-threaded CPU burn inside Redis: Lua busy loops in 10 ms chunks until :meth:`stop`.

    HighCPU's fault is a service that keeps a whole core busy, as a runaway script does on a
    server whose cores are its own. On a shared machine whose load is above its cores, a spin
    at normal priority gets only a share of one (27-85 % held over the 25 s hold in every
    ``--all`` on this 2-core machine, 20-45 % at load 24): the fault was never applied in full.
    Given ``pid`` (Redis' main thread, which runs the Lua), the spin raises that thread's
    scheduling weight and its session group's to ``nice`` (:func:`raise_priority`) for the spin
    and puts them back on :meth:`stop`, so Redis can take the core the fault needs while the
    other core stays everyone else's. The CPU measured
    is still Redis' own work, for its own script: nothing is attributed to it. CFS weights,
    not a real-time class: a real-time priority got the core too but starved everything on
    it (other stacks' NATS stalled for 12 s). Other clients wait at most three pipelines of
    chunks (300 ms).
    """

    def __init__(self, redis_url: str, pid: int | None = None, nice: int = SPIN_NICE, group_pid: int | None = None):
        self.redis_url = redis_url
        self.pid = pid
        self.group_pid = group_pid
        self.nice = nice
        self.chunks = 0
        self.error: Exception | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._old: Priority | None = None

    def start(self) -> None:
        if self.pid is not None:
            self._old = raise_priority(self.pid, self.nice, self.group_pid)
        self._threads = [threading.Thread(target=self._spin, name="redis-spin", daemon=True) for _ in range(SPIN_CONNECTIONS)]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        try:
            for thread in self._threads:
                thread.join(timeout=10)
                if thread.is_alive():
                    raise FaultError("the Redis spin did not stop within 10 s")
        finally:
            if self.pid is not None and self._old is not None:
                restore_priority(self.pid, self._old, self.group_pid)
        if self.error is not None:
            raise FaultError(f"the Redis spin failed: {self.error}")

    def _spin(self) -> None:
        client = redis.Redis.from_url(self.redis_url, socket_timeout=10)
        try:
            spin = client.register_script(SPIN_SCRIPT)
            while not self._stop.is_set():
                pipe = client.pipeline(transaction=False)
                for _ in range(SPIN_PIPELINE):
                    spin(keys=[], args=[SPIN_CHUNK_US], client=pipe)
                pipe.execute()
                self.chunks += SPIN_PIPELINE
        except redis.RedisError as exc:
            self.error = exc
        finally:
            client.close()


_THRESHOLD = re.compile(r">\s*([0-9.]+)\s*$")
SPIN_RAMP_S = 2.0  # the exporter's first CPU interval after the fault is partly before the spin


def _cpu_rule(path: AlertPath, alert: str) -> tuple[float, float] | None:
    """The threshold and hold (``for``, at least 1 s) of ``alert`` as the running Prometheus loaded it."""
    rule = path.alert_rule(alert) or {}
    found = _THRESHOLD.search(str(rule.get("query", "")).strip())
    return None if found is None else (float(found.group(1)), max(1.0, float(rule.get("duration", 0))))


def _with_load(why: str | None) -> str | None:
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    return None if why is None else f"{why} (load {load:.1f} on {cores} cores)"


def spin_could_not_test(path: AlertPath, name: str, alert: str, fault_at: float | None) -> str | None:
    """Why ``alert`` staying quiet proves nothing (the spin never held the core long enough), else None.

    Asks Prometheus for the most of a core ``name`` used since the fault and the best share it
    kept for a whole hold of the alert (``min_over_time`` over the ``for``, the most of that).
    """
    rule = _cpu_rule(path, alert)
    if rule is None:
        return None
    threshold, hold = rule
    since = max(round(hold) + 1, round(time.time() - (fault_at or time.time())))
    series = f'process_cpu_core_usage_percent{{service="{name}"}}'
    most = path.query_max(f"max_over_time({series}[{since}s])")
    sustained = path.query_max(f"max_over_time(min_over_time({series}[{round(hold)}s])[{since}s:1s])")
    return _with_load(judge_cpu_share(most, sustained, threshold, hold))


def spin_made_it_late(path: AlertPath, name: str, alert: str, fault_at: float | None) -> str | None:
    """Why ``alert`` notified after its budget measures the machine, not the alert path (else None).

    Asks Prometheus for the least share of a core ``name`` kept over the alert's first whole hold
    after the spin's ramp (``min_over_time`` over the ``for``, evaluated at its end).
    """
    rule = _cpu_rule(path, alert)
    if rule is None or fault_at is None:
        return None
    threshold, hold = rule
    series = f'process_cpu_core_usage_percent{{service="{name}"}}'
    least = path.query_max(f"min_over_time({series}[{round(hold)}s])", at=fault_at + SPIN_RAMP_S + hold)
    return _with_load(judge_cpu_first_hold(least, threshold, hold, SPIN_RAMP_S))
