"""The orchestrator process: consume signals and opinions, decide, publish, record.

Three loops share one event loop: the signal consumer, the opinion consumer and the
deadline sweeper; a fourth re-publishes any decision a crash left in the outbox. A
message is acknowledged only after its effect is in Redis, so a kill at any point
leads to a redelivery, never to a lost or doubled decision (see ``workflow.py``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import nats.errors
import redis.asyncio as aioredis
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from agentic_trading import bus
from agentic_trading.opinions import Opinion
from agentic_trading.orchestrator.decision import Decision, decide
from agentic_trading.orchestrator.workflow import WorkflowStore, parse_workflow
from agentic_trading.settings import AGENT_TYPES, Settings
from agentic_trading.signals import Signal, instrument_subject_token
from agentic_trading.telemetry.logging import bind_signal, get_logger
from agentic_trading.telemetry.metrics import OrchestratorMetrics

log = get_logger("orchestrator")

FETCH_BATCH = 128
FETCH_TIMEOUT_S = 0.5
SWEEP_INTERVAL_S = 0.05
OUTBOX_INTERVAL_S = 1.0
# After a restart, let redelivered opinions land before deciding overdue workflows without them.
STARTUP_GRACE_S = 1.0


class Orchestrator:
    def __init__(self, settings: Settings, nc: NATS, redis: aioredis.Redis, metrics: OrchestratorMetrics):
        self.settings = settings
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream(timeout=2.0)
        self.redis = redis
        self.store = WorkflowStore(redis)
        self.metrics = metrics

    # -- consuming ---------------------------------------------------------------------
    async def on_signal(self, msg: Msg) -> None:
        signal = Signal.from_json(msg.data)
        with bind_signal(signal.signal_id, signal.correlation_id):
            if await self.store.is_decided(signal.signal_id):
                self.metrics.redeliveries.inc()
                return
            fields = await self.store.record_signal(signal, signal.received_at + self.settings.decision_deadline_s)
            log.info("workflow_started", instrument=signal.instrument, action=signal.action, test=signal.test)
            await self.try_decide(fields, deadline_passed=False)

    async def on_opinion(self, msg: Msg) -> None:
        opinion = Opinion.from_json(msg.data)
        with bind_signal(opinion.signal_id, opinion.correlation_id):
            if await self.store.is_decided(opinion.signal_id):
                self.metrics.redeliveries.inc()
                log.info("opinion_after_decision", agent_type=opinion.agent_type)
                return
            fields = await self.store.record_opinion(opinion)
            log.info("opinion_received", agent_type=opinion.agent_type, stance=opinion.stance, score=opinion.score)
            await self.try_decide(fields, deadline_passed=False)

    async def try_decide(self, fields: dict[bytes, bytes], *, deadline_passed: bool) -> Decision | None:
        signal, opinions = parse_workflow(fields)
        if signal is None:
            return None  # opinions arrived first; the signal's own message will complete it
        if not deadline_passed and any(a not in opinions for a in AGENT_TYPES):
            return None
        decision = decide(signal, opinions, decided_at=time.time())
        if not await self.store.claim(decision):
            return None
        self.metrics.workflows.labels(decision.status).inc()
        self.metrics.decisions.labels(decision.decision).inc()
        self.metrics.workflow_duration.observe(decision.latency_s)
        for agent in decision.missing_agents:
            self.metrics.missing_opinions.labels(agent).inc()
        await self.publish(decision)
        return decision

    async def publish(self, decision: Decision, *, republish: bool = False) -> None:
        """Publish a claimed decision; ``republish`` marks the outbox's repair of a lost publish."""
        with bind_signal(decision.signal_id, decision.correlation_id):
            await self.js.publish(
                bus.decision_subject(instrument_subject_token(decision.instrument)),
                decision.to_json(),
                timeout=2.0,
                headers={bus.MSG_ID_HEADER: decision.signal_id, bus.CORRELATION_HEADER: decision.correlation_id},
            )
            # Logged before the outbox entry goes: a kill in between re-publishes (and logs) the
            # same decision, so every decision has at least one log line.
            log.info(
                "decision_republished" if republish else "decision_published",
                decision=decision.decision,
                status=decision.status,
                score=decision.score,
                decided_at=decision.decided_at,
                missing_agents=decision.missing_agents,
                latency_ms=round(decision.latency_s * 1000, 2),
                test=decision.test,
                reasons=decision.reasons,
            )
            await self.store.mark_published(decision.signal_id)

    # -- loops -------------------------------------------------------------------------
    async def consume(self, stream: str, durable: str, subject: str, handler: Callable[[Msg], Awaitable[None]], stop: asyncio.Event) -> None:
        psub = await bus.pull_subscription(self.js, stream, durable, subject)
        try:
            while not stop.is_set():
                try:
                    messages = await bus.fetch_batch(psub, FETCH_BATCH, FETCH_TIMEOUT_S)
                except nats.errors.TimeoutError:
                    continue
                except Exception as exc:  # noqa: BLE001 - the bus may be reconnecting; keep consuming
                    log.warning("fetch_failed", stream=stream, error=f"{type(exc).__name__}: {exc}")
                    await asyncio.sleep(0.2)
                    continue
                await asyncio.gather(*(self._handle(handler, m) for m in messages))
        finally:
            # An open pull subscription makes the connection's drain wait its full timeout.
            await psub.unsubscribe()

    async def _handle(self, handler: Callable[[Msg], Awaitable[None]], msg: Msg) -> None:
        try:
            await handler(msg)
        except Exception:  # noqa: BLE001 - one bad message must not stop the consumer
            self.metrics.workflows.labels("failed").inc()
            log.exception("message_failed", subject=msg.subject)
            await msg.nak(delay=0.5)
            return
        await msg.ack()

    async def sweep_deadlines(self, stop: asyncio.Event) -> None:
        await _wait(stop, STARTUP_GRACE_S)
        while not stop.is_set():
            try:
                for signal_id in await self.store.due(time.time()):
                    fields = await self.store.load(signal_id)
                    if not fields:
                        await self.store.drop_deadline(signal_id)
                        continue
                    await self.try_decide(fields, deadline_passed=True)
                self.metrics.open_workflows.set(await self.store.open_count())
            except Exception:  # noqa: BLE001 - keep sweeping; the failure is logged
                log.exception("deadline_sweep_failed")
            await _wait(stop, SWEEP_INTERVAL_S)

    async def drain_outbox(self, stop: asyncio.Event) -> None:
        """Re-publish decisions a crash left unacknowledged (JetStream deduplicates)."""
        while not stop.is_set():
            try:
                for signal_id in await self.store.outbox():
                    decision = await self.store.decision(signal_id)
                    if decision is None:
                        await self.store.mark_published(signal_id)
                    elif time.time() - decision.decided_at > OUTBOX_INTERVAL_S:
                        await self.publish(decision, republish=True)
            except Exception:  # noqa: BLE001 - retried on the next round
                log.exception("outbox_drain_failed")
            await _wait(stop, OUTBOX_INTERVAL_S)

    async def run(self, stop: asyncio.Event) -> None:
        await bus.ensure_streams(self.js, self.settings)
        tasks = [
            asyncio.create_task(
                self.consume(bus.SIGNALS_STREAM, bus.ORCHESTRATOR_SIGNALS_CONSUMER, "signals.>", self.on_signal, stop)
            ),
            asyncio.create_task(
                self.consume(bus.OPINIONS_STREAM, bus.ORCHESTRATOR_OPINIONS_CONSUMER, "opinions.>", self.on_opinion, stop)
            ),
            asyncio.create_task(self.sweep_deadlines(stop)),
            asyncio.create_task(self.drain_outbox(stop)),
        ]
        await stop.wait()
        await asyncio.gather(*tasks)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return
