"""The consume-decide-publish loop every analysis agent shares.

An agent is an :class:`AgentLogic`: ``load`` reads what a batch of signals needs from
Redis (one pipeline), ``assess`` is the pure judgement of one signal, ``advance``
applies a live signal to the loaded state in memory (so a later signal of the same
batch sees an earlier one, in stream order), and ``record`` writes the live signals'
effect to Redis idempotently. :class:`AgentRunner` drives it:

    take what has arrived (up to 64) -> parse -> load (1 round trip) -> assess + advance, in order
    -> publish every opinion at once, JetStream's acks awaited together (bus.publish_all)
    -> record the published live signals (1 round trip) -> log the batch (one write)
    -> ack the batch (one buffered write) -> count it (metrics once per batch)

A message is acknowledged only after its opinion is stored by JetStream and its effect
on the agent's state is in Redis, so a crash at any point means a redelivery: the
opinion is deduplicated by its message id ``<signal_id>:<agent_type>`` and the state
write by the agent's "seen" marker. A message that fails is logged with its traceback,
counted as ``outcome="error"`` and nak'ed with a short delay; one that cannot even be
decoded is terminated (a redelivery could never succeed). Test signals (``test=True``)
are assessed and published like any other but never change the stored state.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

import nats.errors
from nats.aio.msg import Msg

from agentic_trading import bus, feed_delivery
from agentic_trading.opinions import Opinion, stance_for
from agentic_trading.pull_feed import PullFeed
from agentic_trading.signals import Signal
from agentic_trading.telemetry.logging import SignalLines, bind_signal, get_logger
from agentic_trading.telemetry.metrics import AgentMetrics

log = get_logger("agents")

FETCH_BATCH = 64
# Messages asked for in advance (pull_feed.PullFeed): two batches, so the next is on its way.
FEED_WINDOW = 2 * FETCH_BATCH
FETCH_TIMEOUT_S = 0.5
PUBLISH_TIMEOUT_S = 2.0
NAK_DELAY_S = 0.5
FETCH_RETRY_S = 0.2

State = TypeVar("State")


@dataclass(frozen=True, slots=True)
class Assessment:
    """What an agent concluded about one signal; the stance follows from the score."""

    score: float
    confidence: float
    reasons: list[str] = field(default_factory=list)
    veto: bool = False

    @property
    def stance(self) -> str:
        return stance_for(self.score)


def clip(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def opinion_from(signal: Signal, agent_type: str, assessment: Assessment, *, processed_at: float) -> Opinion:
    """The wire form of an assessment: score and confidence clipped to range, 4 decimals."""
    score = round(clip(assessment.score, -1.0, 1.0), 4)
    return Opinion(
        signal_id=signal.signal_id,
        correlation_id=signal.correlation_id,
        agent_type=agent_type,
        stance=stance_for(score),
        score=score,
        confidence=round(clip(assessment.confidence, 0.0, 1.0), 4),
        reasons=list(assessment.reasons),
        veto=assessment.veto,
        processed_at=processed_at,
    )


class AgentLogic(ABC, Generic[State]):
    """One agent type's judgement and the Redis state it keeps."""

    agent_type: ClassVar[str]

    @abstractmethod
    async def load(self, signals: Sequence[Signal]) -> State:
        """Everything ``assess`` needs for this batch, read in as few round trips as possible."""

    @abstractmethod
    def assess(self, signal: Signal, state: State) -> Assessment:
        """The pure judgement of one signal against the loaded state."""

    def advance(self, signal: Signal, state: State) -> None:
        """Apply a live signal to the in-memory state, as ``record`` will in Redis."""
        return None

    async def record(self, signals: Sequence[Signal]) -> None:
        """Write the live signals' effect to Redis; a signal recorded before must not count twice."""
        return None


@dataclass(slots=True)
class _Pending:
    msg: Msg
    signal: Signal
    opinion: Opinion


class AgentRunner:
    """Consume ``signals.>`` through the agent's durable consumer and publish opinions."""

    def __init__(
        self,
        logic: AgentLogic[Any],
        js: Any,
        metrics: AgentMetrics,
        *,
        publish_timeout_s: float = PUBLISH_TIMEOUT_S,
        clock: Callable[[], float] = time.time,
    ):
        self.logic = logic
        self.agent_type = logic.agent_type
        self.js = js
        self.metrics = metrics
        self.publish_timeout_s = publish_timeout_s
        self.clock = clock
        self.subject = bus.opinion_subject(self.agent_type)
        agent = self.agent_type
        # Metric children looked up once, not per message.
        self._ok = metrics.processed.labels(agent, "ok")
        self._confidence = metrics.confidence.labels(agent)
        self._duration = metrics.processing_duration.labels(agent)
        self._last = metrics.last_processed.labels(agent)
        self._vetoes = metrics.vetoes.labels(agent)

    async def subscribe(self) -> PullFeed:
        return await bus.open_feed(
            self.js,
            bus.SIGNALS_STREAM,
            bus.agent_consumer_name(self.agent_type),
            bus.STREAM_SUBJECTS[bus.SIGNALS_STREAM],
            window=FEED_WINDOW,
            replay_s=bus.AGENT_REPLAY_S,
        )

    async def run(self, stop: asyncio.Event, feed: Any | None = None) -> None:
        """Take and process batches until ``stop`` is set; the batch in hand is finished first.

        A batch is whatever the feed holds when the last one is done (``PullFeed.take``): one
        signal at a trickle, up to :data:`FETCH_BATCH` when the agent runs behind; nothing waits
        for a fuller batch.
        """
        feed = feed if feed is not None else await self.subscribe()
        log.info("agent_consuming", agent_type=self.agent_type, consumer=bus.agent_consumer_name(self.agent_type))
        try:
            while not stop.is_set():
                try:
                    messages = await feed.take(FETCH_BATCH, FETCH_TIMEOUT_S)
                except (nats.errors.TimeoutError, TimeoutError):
                    continue  # no messages
                except Exception as exc:  # noqa: BLE001 - the bus may be reconnecting; keep consuming
                    log.warning("fetch_failed", error=f"{type(exc).__name__}: {exc}", retry_in_s=FETCH_RETRY_S)
                    await _wait(stop, FETCH_RETRY_S)
                    continue
                await self.process_batch(messages)
        finally:
            # Unsubscribes (an open subscription would hold up the connection's drain) and naks
            # what arrived but was not processed, so it is redelivered at once.
            await _settle(feed.close)

    async def process_batch(self, messages: Sequence[Msg]) -> None:
        started = time.perf_counter()
        parsed = [item for item in [await self._parse(m) for m in messages] if item is not None]
        if not parsed:
            return
        try:
            state = await self.logic.load([s for _, s in parsed])
        except Exception:  # noqa: BLE001 - Redis may be away; every message is retried
            log.exception("state_load_failed", agent_type=self.agent_type, messages=len(parsed))
            await asyncio.gather(*(self._fail(m) for m, _ in parsed))
            return

        pending: list[_Pending] = []
        for msg, signal in parsed:
            try:
                assessment = self.logic.assess(signal, state)
                if not signal.test:
                    self.logic.advance(signal, state)
                opinion = opinion_from(signal, self.agent_type, assessment, processed_at=self.clock())
            except Exception:  # noqa: BLE001 - one bad signal must not stop the batch
                with bind_signal(signal.signal_id, signal.correlation_id):
                    log.exception("assessment_failed", agent_type=self.agent_type)
                await self._fail(msg)
                continue
            pending.append(_Pending(msg, signal, opinion))

        results = await bus.publish_all(self.js, [self._outgoing(p.opinion) for p in pending], self.publish_timeout_s)
        published: list[_Pending] = []
        for item, result in zip(pending, results, strict=True):
            if isinstance(result, BaseException):
                with bind_signal(item.signal.signal_id, item.signal.correlation_id):
                    log.error("opinion_publish_failed", agent_type=self.agent_type, exc_info=result)
                await self._fail(item.msg)
            else:
                published.append(item)

        live = [p.signal for p in published if not p.signal.test]
        if live:
            try:
                await self.logic.record(live)
            except Exception:  # noqa: BLE001 - the redelivery records it (and republishes, deduplicated)
                log.exception("state_record_failed", agent_type=self.agent_type, messages=len(live))
                await asyncio.gather(*(self._fail(p.msg) for p in published))
                return

        lines = SignalLines()
        for item in published:
            self._log(lines, item)
        lines.flush()  # before the acks: a line is never missing for an acknowledged signal
        if not published:
            return
        # One buffered write acknowledges the batch (feed_delivery.ack_all); the metrics once per batch.
        if await _settle(feed_delivery.ack_all, messages=[item.msg for item in published]):
            self._count(published, time.perf_counter() - started)
        else:
            self.metrics.processed.labels(self.agent_type, "error").inc(len(published))

    async def _parse(self, msg: Msg) -> tuple[Msg, Signal] | None:
        try:
            return msg, Signal.from_json(msg.data)
        except Exception:  # noqa: BLE001 - not a signal: no redelivery could fix it
            log.exception("signal_undecodable", agent_type=self.agent_type, subject=msg.subject, size=len(msg.data))
            self.metrics.processed.labels(self.agent_type, "error").inc()
            await _settle(msg.term)
            return None

    def _outgoing(self, opinion: Opinion) -> bus.Outgoing:
        msg_id = f"{opinion.signal_id}:{self.agent_type}"
        return bus.Outgoing(self.subject, opinion.to_json(), msg_id, opinion.correlation_id)

    async def _fail(self, msg: Msg) -> None:
        self.metrics.processed.labels(self.agent_type, "error").inc()
        await _settle(msg.nak, delay=NAK_DELAY_S)

    def _count(self, published: Sequence[_Pending], seconds: float) -> None:
        """Count an acknowledged batch: each signal's duration observed, the gauges set to the latest."""
        self._ok.inc(len(published))
        observe = self._duration.observe
        for _ in published:
            observe(seconds)  # per signal (ARCHITECTURE.md): every signal of a batch took this long
        self._confidence.set(published[-1].opinion.confidence)
        self._last.set(self.clock())
        vetoes = sum(1 for item in published if item.opinion.veto)
        if vetoes:
            self._vetoes.inc(vetoes)

    def _log(self, lines: SignalLines, item: _Pending) -> None:
        opinion, signal = item.opinion, item.signal
        lines.signal(
            "opinion_published",
            signal,
            agent_type=self.agent_type,
            stance=opinion.stance,
            score=opinion.score,
            confidence=opinion.confidence,
            veto=opinion.veto,
            reasons=opinion.reasons,
        )


async def _settle(action: Callable[..., Any], **kwargs: Any) -> bool:
    """Ack, nak or term a message; a failure is logged (JetStream redelivers after ack_wait)."""
    try:
        await action(**kwargs)
    except Exception:  # noqa: BLE001 - the connection may be gone; redelivery covers it
        log.exception("message_settle_failed", action=getattr(action, "__name__", "?"))
        return False
    return True


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return
