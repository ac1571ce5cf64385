"""Synthetic traffic of the specification (generate_test_data.py), measured instead of slept.

* ``normal``: 1-5 signals a minute as in the specification, compressed by ``speed``
  (``speed=60`` sends one to five a second);
* ``errors``: ``count`` webhooks of which ``error_rate`` are the specification's malformed payloads;
* ``burst``: ``threads`` concurrent senders of ``per_thread`` signals each (20 x 10).

All three send to ``/webhook/test`` unless given another path, so synthetic traffic never
moves the paper positions (``at:positions``) that live signals build up.

Every run returns a :class:`TrafficReport` counting what the gateway answered, so a
caller (``atctl generate``, a test) can assert on it rather than hope.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from agentic_trading.gateway.auth import WebhookAuthenticator
from agentic_trading.load.payloads import SignalFactory
from agentic_trading.telemetry.logging import get_logger

log = get_logger("traffic")

Progress = Callable[[int], None]

# Paper traffic: decided like any signal, but never moves the positions the risk agent limits.
TEST_PATH = "/webhook/test"
LIVE_PATH = "/webhook/tradingview"


@dataclass
class TrafficReport:
    sent: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    duration_s: float = 0.0

    def record(self, status: int | None, error: str | None = None) -> None:
        self.sent += 1
        if status is not None:
            self.statuses[str(status)] += 1
        if error:
            self.errors[error] += 1

    @property
    def accepted(self) -> int:
        return self.statuses.get("200", 0)

    def as_dict(self) -> dict[str, object]:
        return {
            "sent": self.sent,
            "accepted": self.accepted,
            "statuses": dict(self.statuses),
            "errors": dict(self.errors),
            "duration_s": round(self.duration_s, 3),
        }


class TrafficGenerator:
    """Sends to ``gateway_url`` + ``path`` (``/webhook/test`` unless told otherwise: paper only).

    With ``webhook_secret`` every body is signed (``X-Signature: sha256=<HMAC-SHA256>``),
    as the gateway of a stack with a secret requires; the secret itself is never sent.
    """

    def __init__(
        self,
        gateway_url: str,
        *,
        seed: int | None = None,
        timeout_s: float = 5.0,
        path: str = TEST_PATH,
        webhook_secret: str | None = None,
    ):
        self.gateway_url = gateway_url.rstrip("/")
        self.path = path
        self.factory = SignalFactory(seed)
        self.random = random.Random(seed)
        self.timeout_s = timeout_s
        self._signer = WebhookAuthenticator(webhook_secret) if webhook_secret else None

    async def _send(self, client: httpx.AsyncClient, payload: object, report: TrafficReport, path: str | None = None) -> None:
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        if self._signer is not None:
            headers["X-Signature"] = self._signer.sign(body)
        try:
            response = await client.post(f"{self.gateway_url}{path or self.path}", content=body, headers=headers)
        except httpx.HTTPError as exc:
            report.record(None, type(exc).__name__)
            log.warning("traffic_send_failed", error=f"{type(exc).__name__}: {exc}")
            return
        report.record(response.status_code)

    async def normal(
        self,
        *,
        duration_s: float,
        speed: float = 1.0,
        path: str | None = None,
        progress: Progress | None = None,
    ) -> TrafficReport:
        """1-5 signals per (60/speed) seconds, spread at random within each window."""
        report = TrafficReport()
        started = time.monotonic()
        window = 60.0 / speed
        async with httpx.AsyncClient(timeout=self.timeout_s) as client:
            while (elapsed := time.monotonic() - started) < duration_s:
                count = self.random.randint(1, 5)
                offsets = sorted(self.random.uniform(0, window) for _ in range(count))
                window_start = time.monotonic()
                for offset in offsets:
                    delay = window_start + offset - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    if time.monotonic() - started >= duration_s:
                        break
                    await self._send(client, self.factory.signal(), report, path)
                    if progress:
                        progress(report.sent)
                rest = window_start + window - time.monotonic()
                if rest > 0:
                    await asyncio.sleep(min(rest, max(0.0, duration_s - elapsed)))
        report.duration_s = time.monotonic() - started
        return report

    async def errors(
        self, *, count: int = 100, error_rate: float = 0.1, interval_s: float = 0.1, progress: Progress | None = None
    ) -> TrafficReport:
        report = TrafficReport()
        started = time.monotonic()
        async with httpx.AsyncClient(timeout=self.timeout_s) as client:
            for i in range(count):
                bad = self.random.random() < error_rate
                payload = self.factory.malformed() if bad else self.factory.signal()
                await self._send(client, payload, report)
                if progress:
                    progress(report.sent)
                if interval_s and i + 1 < count:
                    await asyncio.sleep(interval_s)
        report.duration_s = time.monotonic() - started
        return report

    async def burst(self, *, threads: int = 20, per_thread: int = 10, progress: Progress | None = None) -> TrafficReport:
        report = TrafficReport()
        started = time.monotonic()
        limits = httpx.Limits(max_connections=threads, max_keepalive_connections=threads)
        async with httpx.AsyncClient(timeout=self.timeout_s, limits=limits) as client:

            async def sender() -> None:
                for _ in range(per_thread):
                    await self._send(client, self.factory.signal(), report)
                    if progress:
                        progress(report.sent)

            await asyncio.gather(*(sender() for _ in range(threads)))
        report.duration_s = time.monotonic() - started
        return report
