"""The canary process: send a test signal every interval, match decisions from NATS, count.

One event loop: a NATS subscription on ``decisions.>`` (its callback marks our signals
decided), and a loop that sends the next signal, then counts the ones past their deadline.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import orjson
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from agentic_trading import bus
from agentic_trading.canary.tracker import CanaryTracker
from agentic_trading.load.payloads import SignalFactory
from agentic_trading.service.http import ServiceApp
from agentic_trading.service.runtime import run_service
from agentic_trading.settings import Settings, load_settings
from agentic_trading.telemetry.logging import configure_logging, get_logger
from agentic_trading.telemetry.metrics import CanaryMetrics

SERVICE = "canary"
TEST_ENDPOINT = "/webhook/test"
HTTP_TIMEOUT_S = 5.0
# A canary signal counts as undecided this many decision deadlines after it was accepted.
DEADLINE_FACTOR = 5.0

log = get_logger(__name__)


class Canary:
    """Sends canary signals and matches their decisions; all state in :class:`CanaryTracker`."""

    def __init__(self, settings: Settings, metrics: CanaryMetrics, http: httpx.AsyncClient):
        self.settings = settings
        self.metrics = metrics
        self.http = http
        self.tracker = CanaryTracker(deadline_s=DEADLINE_FACTOR * settings.decision_deadline_s)
        self.factory = SignalFactory()
        self.url = settings.url("gateway") + TEST_ENDPOINT

    async def on_decision(self, msg: Msg) -> None:
        try:
            decision = orjson.loads(msg.data)
            signal_id = str(decision["signal_id"])
        except (orjson.JSONDecodeError, KeyError, TypeError) as error:
            log.warning("decision_unreadable", subject=msg.subject, error=str(error))
            return
        latency = self.tracker.decided(signal_id, time.time())
        if latency is not None:
            self.metrics.decided.inc()
            self.metrics.decision_duration.observe(latency)
            self.metrics.last_decided.set(time.time())
            log.debug("canary_decided", signal_id=signal_id, latency_s=round(latency, 3), status=decision.get("status"))

    async def send_one(self) -> None:
        payload: dict[str, Any] = self.factory.signal()
        payload["strategy"] = "canary"
        if self.settings.webhook_secret is not None:
            payload["secret"] = self.settings.webhook_secret.get_secret_value()
        try:
            response = await self.http.post(self.url, json=payload)
        except httpx.HTTPError as error:
            self._failed("unreachable", f"{type(error).__name__}: {error}")
            return
        if response.status_code != 200:
            self._failed(f"http_{response.status_code}", response.text[:200])
            return
        body = response.json()
        if body.get("duplicate"):
            return  # the same signal twice: its first send is already waiting
        self.tracker.sent(str(body["signal_id"]), time.time())
        self.metrics.sent.inc()

    def expire(self) -> None:
        late = self.tracker.expire(time.time())
        if late:
            self.metrics.undecided.inc(late)
            log.warning(
                "canary_undecided",
                signals=late,
                deadline_s=self.tracker.deadline_s,
                hint="accepted but not decided: is the orchestrator deciding? (atctl alerts; atctl logs orchestrator)",
            )

    def _failed(self, reason: str, detail: str) -> None:
        self.metrics.send_failures.labels(reason).inc()
        log.warning("canary_send_failed", reason=reason, detail=detail, url=self.url)

    async def wait_for_gateway(self, stop: asyncio.Event) -> None:
        """Until the gateway is ready, send nothing: a gateway still starting is not an outage."""
        ready_url = self.settings.url("gateway") + "/readyz"
        while not stop.is_set():
            try:
                if (await self.http.get(ready_url)).status_code == 200:
                    return
            except httpx.HTTPError:
                log.debug("canary_waiting_for_gateway", url=ready_url)
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.settings.canary_interval_s)
            except TimeoutError:
                continue

    async def run(self, stop: asyncio.Event) -> None:
        """Subscribe first (no decision may slip by), wait for the gateway, then send one signal per interval."""
        nc: NATS = await bus.connect(self.settings, SERVICE)
        try:
            await nc.subscribe(bus.STREAM_SUBJECTS[bus.DECISIONS_STREAM], cb=self.on_decision)
            await self.wait_for_gateway(stop)
            log.info("canary_started", url=self.url, interval_s=self.settings.canary_interval_s)
            while not stop.is_set():
                await self.send_one()
                self.expire()
                try:
                    await asyncio.wait_for(stop.wait(), timeout=self.settings.canary_interval_s)
                except TimeoutError:
                    continue
        finally:
            await nc.drain()


async def serve(settings: Settings) -> None:
    metrics = CanaryMetrics()
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_S, trust_env=False) as http:
        canary = Canary(settings, metrics, http)
        app = ServiceApp(SERVICE, metrics.registry)
        await run_service(SERVICE, app, settings.host, settings.port(SERVICE), canary.run)


def main() -> None:
    settings = load_settings()
    configure_logging(SERVICE, settings.log_level)
    asyncio.run(serve(settings))
