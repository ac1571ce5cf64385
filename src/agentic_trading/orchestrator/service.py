"""The orchestrator process: consume signals and opinions, decide, publish, record.

Three loops share one event loop: the signal consumer, the opinion consumer and the
deadline sweeper; a fourth re-publishes any decision a crash left in the outbox. A
message is acknowledged only after its effect is in Redis, so a kill at any point
leads to a redelivery, never to a lost or doubled decision (see ``workflow.py``).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import nats.errors
import redis.asyncio as aioredis
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from agentic_trading import bus, feed_delivery
from agentic_trading.lean_jetstream import LeanJetStream
from agentic_trading.opinions import Opinion
from agentic_trading.orchestrator.decision import Decision, decide
from agentic_trading.orchestrator.workflow import WorkflowStore, parse_workflow
from agentic_trading.settings import AGENT_TYPES, Settings
from agentic_trading.signals import Signal, instrument_subject_token
from agentic_trading.telemetry.logging import SignalLines, bind_signal, get_logger
from agentic_trading.telemetry.metrics import OrchestratorMetrics

log = get_logger("orchestrator")

FETCH_BATCH = 128
# Messages asked for in advance (pull_feed.PullFeed): two batches, so the next is on its way.
FEED_WINDOW = 2 * FETCH_BATCH
BATCHES_IN_FLIGHT = 4
# A complete workflow hash: the signal and one opinion per agent type.
_COMPLETE_FIELDS = 1 + len(AGENT_TYPES)
FETCH_TIMEOUT_S = 0.5
PUBLISH_TIMEOUT_S = 2.0
SWEEP_INTERVAL_S = 0.05
OUTBOX_INTERVAL_S = 1.0
# After a restart, let redelivered opinions land before deciding overdue workflows without them.
STARTUP_GRACE_S = 1.0


class Orchestrator:
    def __init__(self, settings: Settings, nc: NATS, redis: aioredis.Redis, metrics: OrchestratorMetrics):
        self.settings = settings
        self.nc = nc
        self.js: JetStreamContext = LeanJetStream(nc, timeout=2.0)
        self.redis = redis
        self.store = WorkflowStore(redis)
        self.metrics = metrics
        self._children: dict[tuple[int, str], Any] = {}

    # -- consuming ---------------------------------------------------------------------
    async def handle_batch(self, messages: list[Msg]) -> None:
        """Record a fetched batch in one Redis round trip, decide what is complete, then ack.

        The acks come last: a kill before them redelivers the batch, which finds its parts
        recorded (or its signals decided) and changes nothing.
        """
        parts: list[Signal | Opinion] = []
        kept: list[Msg] = []
        for msg in messages:
            try:
                parts.append(Signal.from_json(msg.data) if msg.subject.startswith("signals.") else Opinion.from_json(msg.data))
            except (ValueError, TypeError) as exc:
                log.error("message_unreadable", subject=msg.subject, error=str(exc))
                await msg.term()  # redelivering an unreadable message cannot help
                continue
            kept.append(msg)
        if not parts:
            return
        lines = SignalLines()
        try:
            snapshots = await self.store.record(parts, self.settings.decision_deadline_s, whole_at=_COMPLETE_FIELDS)
            complete: dict[str, Decision] = {}
            for part, fields in zip(parts, snapshots, strict=True):
                self._log_part(lines, part, decided=fields is None)
                decision = self._decide_if_complete(fields, deadline_passed=False) if fields else None  # {}: not whole
                if decision is not None:
                    complete[decision.signal_id] = decision
            await self.settle(list(complete.values()), lines)
        except Exception:  # noqa: BLE001 - the batch is retried; one bad batch must not stop the consumer
            lines.flush()
            self.metrics.workflows.labels("failed").inc()
            log.exception("batch_failed", messages=len(kept))
            await asyncio.gather(*(m.nak(delay=0.5) for m in kept))
            return
        lines.flush()  # before the acks: a line is never missing for an acknowledged message
        await feed_delivery.ack_all(kept)  # one buffered write for the batch, no round trip

    def _log_part(self, lines: SignalLines, part: Signal | Opinion, *, decided: bool) -> None:
        if decided:
            self.metrics.redeliveries.inc()
            kind = "signal" if isinstance(part, Signal) else "opinion"
            lines.info("message_after_decision", part.signal_id, part.correlation_id, kind=kind)
        elif isinstance(part, Signal):
            lines.signal("workflow_started", part)
        else:
            lines.info(
                "opinion_received",
                part.signal_id,
                part.correlation_id,
                agent_type=part.agent_type,
                stance=part.stance,
                score=part.score,
            )

    def _decide_if_complete(self, fields: dict[bytes, bytes], *, deadline_passed: bool) -> Decision | None:
        if not deadline_passed and len(fields) < _COMPLETE_FIELDS:
            return None  # cheap: no need to parse a workflow that cannot be complete yet
        signal, opinions = parse_workflow(fields)
        if signal is None:
            return None  # opinions arrived first; the signal's own message will complete it
        if not deadline_passed and any(a not in opinions for a in AGENT_TYPES):
            return None
        return decide(signal, opinions, decided_at=time.time())

    async def settle(self, decisions: list[Decision], lines: SignalLines | None = None) -> list[Decision]:
        """Claim decisions (one round trip), publish the ones that won, clear them from the outbox.

        The publishes go out together (``bus.publish_all``). One that failed stays in the outbox
        (``drain_outbox`` re-publishes it) and the error is raised once the rest are cleared.
        """
        if not decisions:
            return []
        won = [d for d, first in zip(decisions, await self.store.claim_all(decisions), strict=True) if first]
        for decision in won:
            self._child(self.metrics.workflows, decision.status).inc()
            self._child(self.metrics.decisions, decision.decision).inc()
            self.metrics.workflow_duration.observe(decision.latency_s)
            for agent in decision.missing_agents:
                self.metrics.missing_opinions.labels(agent).inc()
        if not won:
            return won
        outgoing = [self._outgoing(d) for d in won]
        results = await bus.publish_all(self.js, outgoing, PUBLISH_TIMEOUT_S)
        lines = lines if lines is not None else SignalLines()
        published = [d for d, r in zip(won, results, strict=True) if not isinstance(r, BaseException)]
        for decision in published:
            _log_decision(lines, decision, "decision_published")
        lines.flush()  # before leaving the outbox: every decision keeps at least one log line
        if published:
            await self.store.mark_published(*(d.signal_id for d in published))
        failed = next((r for r in results if isinstance(r, BaseException)), None)
        if failed is not None:
            raise failed
        return won

    def _child(self, metric: Any, label: str) -> Any:
        """A metric's child for one label value, looked up once (``labels()`` takes a lock each call)."""
        key = (id(metric), label)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(label)
        return child

    @staticmethod
    def _outgoing(decision: Decision) -> bus.Outgoing:
        subject = bus.decision_subject(instrument_subject_token(decision.instrument))
        return bus.Outgoing(subject, decision.to_json(), decision.signal_id, decision.correlation_id)

    async def republish(self, decision: Decision) -> None:
        """Publish a decision a crash left in the outbox (JetStream deduplicates on its signal id).

        The caller removes it from the outbox afterwards: a kill in between re-publishes (and
        logs) the same decision, so every decision has at least one log line.
        """
        with bind_signal(decision.signal_id, decision.correlation_id):
            item = self._outgoing(decision)
            await self.js.publish(
                item.subject,
                item.payload,
                timeout=PUBLISH_TIMEOUT_S,
                headers={bus.MSG_ID_HEADER: item.msg_id, bus.CORRELATION_HEADER: item.correlation_id},
            )
        lines = SignalLines()
        _log_decision(lines, decision, "decision_republished")
        lines.flush()

    # -- loops -------------------------------------------------------------------------
    async def consume(self, stream: str, durable: str, subject: str, stop: asyncio.Event) -> None:
        """Take and handle batches, several in flight at once.

        A batch is what the feed holds when a slot frees (``PullFeed.take``): nothing waits for a
        fuller batch, and under load the batches grow by themselves.

        A batch spends most of its time waiting on Redis and JetStream round trips, so one at a
        time left the opinion consumer 10,000 messages behind at 1,000 signals/s with the
        process less than half busy. Concurrent batches are safe: every write is an atomic Lua
        call and the claim decides once.
        """
        feed = await bus.open_feed(self.js, stream, durable, subject, window=FEED_WINDOW)
        slots = asyncio.Semaphore(BATCHES_IN_FLIGHT)
        in_flight: set[asyncio.Task[None]] = set()

        def finished(task: asyncio.Task[None]) -> None:
            in_flight.discard(task)
            slots.release()

        try:
            while not stop.is_set():
                await slots.acquire()
                try:
                    messages = await feed.take(FETCH_BATCH, FETCH_TIMEOUT_S)
                except nats.errors.TimeoutError:
                    slots.release()
                    continue
                except Exception as exc:  # noqa: BLE001 - the bus may be reconnecting; keep consuming
                    slots.release()
                    log.warning("fetch_failed", stream=stream, error=f"{type(exc).__name__}: {exc}")
                    await asyncio.sleep(0.2)
                    continue
                task = asyncio.create_task(self.handle_batch(messages))
                in_flight.add(task)
                task.add_done_callback(finished)
        finally:
            await asyncio.gather(*in_flight)  # the graceful drain: finish and ack what was fetched
            # Unsubscribe (an open subscription holds up the connection's drain); what arrived
            # but was never handled is naked, so it is redelivered at once.
            await feed.close()

    async def sweep_deadlines(self, stop: asyncio.Event) -> None:
        await _wait(stop, STARTUP_GRACE_S)
        while not stop.is_set():
            try:
                overdue: list[Decision] = []
                for signal_id in await self.store.due(time.time()):
                    fields = await self.store.load(signal_id)
                    decision = self._decide_if_complete(fields, deadline_passed=True) if fields else None
                    if decision is None:
                        await self.store.drop_deadline(signal_id)  # nothing left to decide on
                        continue
                    overdue.append(decision)
                await self.settle(overdue)
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
                        await self.republish(decision)
                        await self.store.mark_published(signal_id)
            except Exception:  # noqa: BLE001 - retried on the next round
                log.exception("outbox_drain_failed")
            await _wait(stop, OUTBOX_INTERVAL_S)

    async def run(self, stop: asyncio.Event) -> None:
        if not await bus.ensure_streams_patiently(self.js, self.settings, stop):
            return
        tasks = [
            asyncio.create_task(self.consume(bus.SIGNALS_STREAM, bus.ORCHESTRATOR_SIGNALS_CONSUMER, "signals.>", stop)),
            asyncio.create_task(self.consume(bus.OPINIONS_STREAM, bus.ORCHESTRATOR_OPINIONS_CONSUMER, "opinions.>", stop)),
            asyncio.create_task(self.sweep_deadlines(stop)),
            asyncio.create_task(self.drain_outbox(stop)),
        ]
        await stop.wait()
        await asyncio.gather(*tasks)


def _log_decision(lines: SignalLines, decision: Decision, event: str) -> None:
    lines.info(
        event,
        decision.signal_id,
        decision.correlation_id,
        decision=decision.decision,
        status=decision.status,
        score=decision.score,
        decided_at=decision.decided_at,
        missing_agents=decision.missing_agents,
        latency_ms=round(decision.latency_s * 1000, 2),
        test=decision.test,
        reasons=decision.reasons,
    )


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return
