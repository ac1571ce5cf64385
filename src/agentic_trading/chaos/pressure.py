"""Load faults: a flood of the specification's malformed webhooks, and Redis memory pressure.

Both are real traffic, not configuration tricks: the flood goes through the gateway's
validation like a misconfigured sender's would, and the Redis fill writes real keys (under
``at:chaos:fill:``, deleted on repair) until ``used_memory`` reaches a share of ``maxmemory``.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import suppress

import httpx
import redis

from agentic_trading.chaos._loop import BackgroundLoop
from agentic_trading.chaos.errors import FaultError
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
