"""What bounds the gateway's work: who may send, how fast, how much, how long, how many at once.

Each limit is pure and cheap on the hot path (a dict lookup, some arithmetic) and costs
nothing when it is turned off. All of it is per worker process: with ``AT_GATEWAY_WORKERS=2``
a source gets twice the rate, and each worker has its own in-flight cap.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
from collections.abc import Iterable
from typing import Any

from agentic_trading.errors import AgenticTradingError
from agentic_trading.service.http import Receive, Scope, read_body

UNKNOWN_SOURCE = "unknown"
_FORWARDED_FOR = b"x-forwarded-for"
_MAX_CACHED = 4096


def client_address(scope: Scope, trust_proxy: bool) -> str:
    """The sender's address: the peer's, or with ``trust_proxy`` the last X-Forwarded-For entry.

    The last entry is the one the proxy in front of the gateway appended itself; earlier
    ones come from the client and can be forged.
    """
    if trust_proxy:
        forwarded = None
        for name, value in scope["headers"]:
            if name == _FORWARDED_FOR:
                forwarded = value  # the last header wins, as the proxy appends
        if forwarded is not None:
            last = forwarded.rsplit(b",", 1)[-1].strip()
            if last:
                return last.decode("latin-1")
    client = scope.get("client")
    return client[0] if client else UNKNOWN_SOURCE


def parse_networks(text: str | None) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """``"52.89.214.238, 10.0.0.0/8"`` -> networks (a bare address is a /32 or /128)."""
    if not text:
        return ()
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in text.split(",") if item.strip())


class AddressSet:
    """Membership of client addresses in a set of networks, cached per address."""

    def __init__(self, networks: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network]):
        self.networks = tuple(networks)
        self._cache: dict[str, bool] = {}

    def __bool__(self) -> bool:
        return bool(self.networks)

    def __contains__(self, address: str) -> bool:
        known = self._cache.get(address)
        if known is None:
            known = self._lookup(address)
            if len(self._cache) >= _MAX_CACHED:
                self._cache.clear()
            self._cache[address] = known
        return known

    def _lookup(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.strip("[]"))
        except ValueError:
            return False  # "unknown" or a forged X-Forwarded-For entry
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in network for network in self.networks)


class TokenBuckets:
    """A token bucket per source: ``burst`` requests at once, then ``rate_per_s``.

    ``take`` answers 0.0 when the request may go, otherwise the seconds until a token is
    back (the 429's Retry-After). Memory is bounded: past ``max_sources`` buckets, the
    full ones (idle sources) are forgotten, and if none is full the oldest half goes.
    """

    def __init__(self, rate_per_s: float, burst: int, max_sources: int = 10_000):
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("a token bucket needs rate_per_s > 0 and burst >= 1")
        self.rate = rate_per_s
        self.burst = float(burst)
        self.max_sources = max_sources
        self._buckets: dict[str, list[float]] = {}  # source -> [tokens, updated_at]

    def take(self, source: str, now: float) -> float:
        bucket = self._buckets.get(source)
        if bucket is None:
            if len(self._buckets) >= self.max_sources:
                self._forget_idle(now)
            self._buckets[source] = [self.burst - 1.0, now]
            return 0.0
        tokens = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
        bucket[1] = now
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            return 0.0
        bucket[0] = tokens
        return (1.0 - tokens) / self.rate

    def __len__(self) -> int:
        return len(self._buckets)

    def _forget_idle(self, now: float) -> None:
        full_after = self.burst / self.rate
        idle = [s for s, (_, updated) in self._buckets.items() if now - updated >= full_after]
        if not idle:
            idle = list(self._buckets)[: max(1, len(self._buckets) // 2)]
        for source in idle:
            del self._buckets[source]


def retry_after_header(seconds: float) -> tuple[bytes, bytes]:
    """``Retry-After`` in whole seconds, at least 1."""
    return (b"retry-after", str(max(1, math.ceil(seconds))).encode())


class BodyTimeout(AgenticTradingError):
    """The client did not deliver its body before the request deadline."""


class _Canceller:
    """Cancels a task at its deadline and remembers that it did (so the cancel is ours)."""

    __slots__ = ("task", "fired")

    def __init__(self, task: asyncio.Task[Any]):
        self.task = task
        self.fired = False

    def __call__(self) -> None:
        self.fired = True
        self.task.cancel()


async def read_body_within(receive: Receive, limit: int, deadline_s: float) -> bytes | None:
    """The request body, None past ``limit`` bytes; raises :class:`BodyTimeout` after ``deadline_s``.

    A plain timer on the loop rather than ``asyncio.timeout``: it costs about half as much,
    and a body that has already arrived (nearly every webhook) never waits on it.
    """
    task = asyncio.current_task()
    assert task is not None
    canceller = _Canceller(task)
    timer = asyncio.get_running_loop().call_later(deadline_s, canceller)
    try:
        return await read_body(receive, limit)
    except asyncio.CancelledError:
        if canceller.fired and task.uncancel() == 0:
            raise BodyTimeout from None
        raise
    finally:
        timer.cancel()
