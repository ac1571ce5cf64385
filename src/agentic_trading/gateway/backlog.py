"""How far behind the pipeline is, as the gateway sees it: a gauge and a readiness check.

The age of the oldest signal some consumer has not acknowledged (``capacity.stream_backlog_age``)
is polled once a second into ``gateway_signal_backlog_seconds``; ``/readyz`` measures it afresh
and answers 503 past half the decision deadline (``capacity.backlog_problem``), so a load
balancer, a deploy or an operator hears "over capacity" before decisions degrade.
"""

from __future__ import annotations

import asyncio
import time

from nats.aio.client import Client as NATS
from prometheus_client import Gauge

from agentic_trading import bus
from agentic_trading.capacity import backlog_problem, stream_backlog_age
from agentic_trading.telemetry.logging import get_logger

log = get_logger("gateway")

POLL_S = 1.0


class BacklogWatch:
    def __init__(self, gauge: Gauge, deadline_s: float):
        self.gauge = gauge
        self.deadline_s = deadline_s

    async def run(self, nc: NATS) -> None:
        """Keep the gauge current until cancelled."""
        while True:
            await self.refresh(nc)
            await asyncio.sleep(POLL_S)

    async def refresh(self, nc: NATS | None) -> float | None:
        """The SIGNALS backlog's age now, also set on the gauge; None when NATS cannot say."""
        if nc is None or not nc.is_connected:
            return None
        try:
            age = await stream_backlog_age(nc, bus.SIGNALS_STREAM, time.time())
        except Exception as exc:  # noqa: BLE001 - readiness reports NATS trouble; the gauge keeps its value
            log.debug("signal_backlog_unavailable", error=f"{type(exc).__name__}: {exc}")
            return None
        self.gauge.set(age)
        return age

    async def readiness(self, nc: NATS | None) -> str | None:
        age = await self.refresh(nc)
        if age is None:
            return "the SIGNALS backlog cannot be measured (NATS)"
        return backlog_problem(age, self.deadline_s)
