"""JetStream streams, subjects, consumers and the publish/consume helpers.

Streams (file storage, deduplication window from settings):

* ``SIGNALS``   ``signals.<instrument>``   written by the gateway, message id = signal_id
* ``OPINIONS``  ``opinions.<agent_type>``  written by the agents, message id = signal_id:agent_type
* ``DECISIONS`` ``decisions.<instrument>`` written by the orchestrator, message id = signal_id

Each agent type has its own durable pull consumer on ``SIGNALS`` (so every type sees
every signal, and replicas of one type share the work); the orchestrator has one on
``SIGNALS`` and one on ``OPINIONS``.

Bounded, with back-pressure instead of loss (``docs/architecture.md``, "Capacity"):
``SIGNALS`` and ``OPINIONS`` keep a message only until every consumer has acknowledged it
(interest retention) and refuse new messages when full (``discard: new``), so "full" means
"the consumers are this far behind", and the publisher hears it: the gateway answers 503
and stores nothing, an agent naks and retries. Every durable consumer is created with the
streams, so no signal is ever published into a stream nobody is interested in (interest
retention would drop it at once). ``DECISIONS`` is the record of what was decided: limits
retention for 7 days, the oldest dropped first when full (every decision was first recorded
in Redis, and nothing in the pipeline consumes this stream).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import nats
import nats.errors
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    PubAck,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import APIError, BadRequestError, NotFoundError

from agentic_trading.credentials import nats_credentials
from agentic_trading.errors import AgenticTradingError, EndpointUnreachableError
from agentic_trading.nats_headers import parse_header_lines
from agentic_trading.pull_feed import PullFeed
from agentic_trading.settings import AGENT_TYPES, Settings
from agentic_trading.telemetry.logging import get_logger

SIGNALS_STREAM = "SIGNALS"
OPINIONS_STREAM = "OPINIONS"
DECISIONS_STREAM = "DECISIONS"
STREAM_SUBJECTS = {
    SIGNALS_STREAM: "signals.>",
    OPINIONS_STREAM: "opinions.>",
    DECISIONS_STREAM: "decisions.>",
}
# A new agent consumer starts with the signals of this many seconds (the default decision
# deadline): older ones were already decided without the agent.
AGENT_REPLAY_S = 2.0
MSG_ID_HEADER = "Nats-Msg-Id"
CORRELATION_HEADER = "X-Correlation-ID"

# A message not acknowledged within this is redelivered (a killed consumer's work).
ACK_WAIT_S = 5.0
MAX_ACK_PENDING = 2000
MiB = 1024 * 1024


@dataclass(frozen=True)
class StreamLimits:
    """How much a stream holds and what happens when it is full (sizes: docs/architecture.md)."""

    max_bytes: int
    max_age_s: float
    retention: RetentionPolicy
    discard: DiscardPolicy


# SIGNALS: a signal is about 400 bytes on disk, so 256 MiB is a backlog of about 600,000
# signals, ten minutes at 1,000/s with every consumer stopped; OPINIONS holds four per signal.
STREAM_LIMITS = {
    SIGNALS_STREAM: StreamLimits(256 * MiB, 24 * 3600, RetentionPolicy.INTEREST, DiscardPolicy.NEW),
    OPINIONS_STREAM: StreamLimits(512 * MiB, 24 * 3600, RetentionPolicy.INTEREST, DiscardPolicy.NEW),
    DECISIONS_STREAM: StreamLimits(1024 * MiB, 7 * 24 * 3600, RetentionPolicy.LIMITS, DiscardPolicy.OLD),
}

log = get_logger(__name__)


def signal_subject(subject_token: str) -> str:
    return f"signals.{subject_token}"


def opinion_subject(agent_type: str) -> str:
    return f"opinions.{agent_type}"


def decision_subject(subject_token: str) -> str:
    return f"decisions.{subject_token}"


def agent_consumer_name(agent_type: str) -> str:
    return f"agent-{agent_type}"


ORCHESTRATOR_SIGNALS_CONSUMER = "orchestrator-signals"
ORCHESTRATOR_OPINIONS_CONSUMER = "orchestrator-opinions"


def durable_consumers() -> list[tuple[str, str, str]]:
    """(stream, durable, filter subject) of every consumer the pipeline reads with."""
    return [
        *((SIGNALS_STREAM, agent_consumer_name(agent_type), STREAM_SUBJECTS[SIGNALS_STREAM]) for agent_type in AGENT_TYPES),
        (SIGNALS_STREAM, ORCHESTRATOR_SIGNALS_CONSUMER, STREAM_SUBJECTS[SIGNALS_STREAM]),
        (OPINIONS_STREAM, ORCHESTRATOR_OPINIONS_CONSUMER, STREAM_SUBJECTS[OPINIONS_STREAM]),
    ]


class BusUnavailable(EndpointUnreachableError, RuntimeError):
    """NATS could not be reached; the message says where and what to do."""

    service = "NATS"


class StreamConfigError(AgenticTradingError):
    """A stream exists with a configuration this version cannot change in place."""

    exit_code = 2


# A publish that failed with one of these never reached the stream (nothing was stored).
NOT_SENT_ERRORS: tuple[type[BaseException], ...] = (
    APIError,  # JetStream answered, refusing it
    nats.errors.NoRespondersError,  # no JetStream server received it
    nats.errors.OutboundBufferLimitError,  # the client did not even buffer it
)


def is_stream_full(exc: BaseException) -> bool:
    """True when JetStream refused a publish because the stream is at its limits (``discard: new``)."""
    description = getattr(exc, "description", None) or ""
    return isinstance(exc, APIError) and "maximum" in description and "exceeded" in description


async def connect(
    settings: Settings,
    service: str,
    *,
    wait: bool = True,
    on_state: Callable[[bool], Awaitable[None] | None] | None = None,
) -> NATS:
    """Connect to NATS as the user ``service`` (its password from the stack's secrets), reconnecting forever afterwards.

    With ``wait`` the first connection is retried until it succeeds (a service that
    cannot work without the bus); otherwise one attempt is made and
    :class:`BusUnavailable` raised.
    """

    async def _tell(connected: bool) -> None:
        if on_state:
            result = on_state(connected)
            if result is not None:
                await result

    async def _disconnected() -> None:
        log.warning("nats_disconnected", url=settings.nats_url)
        await _tell(False)

    async def _reconnected() -> None:
        log.info("nats_reconnected", url=settings.nats_url)
        await _tell(True)

    async def _error(exc: Exception) -> None:
        log.debug("nats_error", error=str(exc))

    delay = 0.1
    while True:
        try:
            nc = await nats.connect(
                servers=[settings.nats_url],
                name=service,
                connect_timeout=2,
                reconnect_time_wait=0.25,
                max_reconnect_attempts=-1,
                ping_interval=5,
                max_outstanding_pings=2,
                disconnected_cb=_disconnected,
                reconnected_cb=_reconnected,
                error_cb=_error,
                **nats_credentials(settings, service),
            )
        except Exception as exc:  # noqa: BLE001 - nats-py raises several unrelated types here
            if not wait:
                raise BusUnavailable(settings.nats_url, str(exc)) from exc
            log.warning("nats_connect_retry", url=settings.nats_url, error=str(exc), retry_in_s=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
            continue
        nc._parse_header_lines = parse_header_lines  # type: ignore[method-assign]  # see parse_header_lines
        if on_state:
            result = on_state(True)
            if result is not None:
                await result
        return nc


async def ensure_streams(js: JetStreamContext, settings: Settings) -> None:
    """Create or update the three streams and every durable consumer (idempotent; every service may call it)."""
    for name, subject in STREAM_SUBJECTS.items():
        limits = STREAM_LIMITS[name]
        config = StreamConfig(
            name=name,
            subjects=[subject],
            storage=StorageType.FILE,
            retention=limits.retention,
            discard=limits.discard,
            duplicate_window=settings.dedup_window_s,
            max_age=limits.max_age_s,
            max_bytes=limits.max_bytes,
        )
        try:
            await js.add_stream(config)
        except BadRequestError:
            try:
                await js.update_stream(config)
            except BadRequestError as exc:
                raise StreamConfigError(
                    f"stream {name} on {settings.nats_url} cannot take this version's configuration ({exc.description}): "
                    "it was created by an older version; drain it and start afresh with `atctl down --purge && atctl up`"
                ) from exc
    agent_consumers = {agent_consumer_name(agent_type) for agent_type in AGENT_TYPES}
    for stream, durable, subject in durable_consumers():
        # A deleted agent consumer recreated here must not replay SIGNALS (ensure_consumer).
        replay_s = AGENT_REPLAY_S if durable in agent_consumers else None
        await ensure_consumer(js, stream, durable, subject, replay_s=replay_s)


ENSURE_RETRY_S = 0.5


async def ensure_streams_patiently(js: JetStreamContext, settings: Settings, stop: asyncio.Event) -> bool:
    """:func:`ensure_streams`, tried again while JetStream's API times out; False if ``stop`` came first.

    On a busy machine a JetStream that has just started can take longer than the client's API
    timeout to answer: an agent or orchestrator that gave up then crashed at start-up, and
    supervisord's retries ran out (a stack that never became healthy). A broken configuration
    (:class:`StreamConfigError`) is still raised at once.
    """
    while not stop.is_set():
        try:
            await ensure_streams(js, settings)
            return True
        except (TimeoutError, nats.errors.TimeoutError) as exc:
            log.warning("ensure_streams_retry", error=f"{type(exc).__name__}: {exc}")
            try:
                await asyncio.wait_for(stop.wait(), ENSURE_RETRY_S)
            except TimeoutError:
                continue
    return False


async def ensure_consumer(
    js: JetStreamContext, stream: str, durable: str, filter_subject: str, *, replay_s: float | None = None
) -> None:
    """Create a durable pull consumer if it does not exist yet.

    ``replay_s`` None: a new consumer starts at the stream's first message (the orchestrator
    must decide every accepted signal). A number: it starts with the messages of the last
    ``replay_s`` seconds. An agent's consumer that was deleted and is recreated must not
    replay the whole SIGNALS stream: those signals were decided without it long ago, and
    the flood only tripped NATSConsumerLag (docs/runbooks/AgentStalled.md).
    """
    try:
        await js.consumer_info(stream, durable)
        return
    except NotFoundError:
        pass
    if replay_s is None:
        start: dict[str, Any] = {"deliver_policy": DeliverPolicy.ALL}
    else:
        since = datetime.now(UTC) - timedelta(seconds=replay_s)
        start = {"deliver_policy": DeliverPolicy.BY_START_TIME, "opt_start_time": since}
        log.info("consumer_created", stream=stream, durable=durable, replay_s=replay_s)
    await js.add_consumer(
        stream,
        ConsumerConfig(
            durable_name=durable,
            **start,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=ACK_WAIT_S,
            max_ack_pending=MAX_ACK_PENDING,
            filter_subject=filter_subject,
        ),
    )


async def open_feed(
    js: JetStreamContext,
    stream: str,
    durable: str,
    filter_subject: str,
    *,
    window: int,
    replay_s: float | None = None,
) -> PullFeed:
    """The durable consumer ``durable`` (created if missing) read as a :class:`PullFeed` of ``window`` messages."""
    await ensure_consumer(js, stream, durable, filter_subject, replay_s=replay_s)
    return await PullFeed(js._nc, stream, durable, window=window, api_prefix=js._prefix).open()


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One JetStream publish of a batch: subject, payload and its message id (deduplication)."""

    subject: str
    payload: bytes
    msg_id: str
    correlation_id: str


async def publish_all(js: JetStreamContext, outgoing: list[Outgoing], timeout: float) -> list[PubAck | BaseException]:
    """Publish a batch to JetStream, every publish sent before any acknowledgement is awaited.

    ``js.publish`` is a request with its own timer, awaited on its own; here the whole batch
    goes out at once (``publish_async``: one reply subscription, one future each) and the
    acknowledgements are awaited together under one deadline. The result, in order, is each
    publish's ``PubAck`` or its error: ``nats.errors.TimeoutError`` when no acknowledgement
    came in time (the message may still be stored: a retry is deduplicated by its id).
    """
    futures: list[asyncio.Future[PubAck] | BaseException] = []
    for item in outgoing:
        headers = {MSG_ID_HEADER: item.msg_id, CORRELATION_HEADER: item.correlation_id}
        try:
            futures.append(await js.publish_async(item.subject, item.payload, wait_stall=timeout, headers=headers))
        except Exception as exc:  # noqa: BLE001 - not sent (stalled, disconnected): that publish failed
            futures.append(exc)
    pending = [f for f in futures if isinstance(f, asyncio.Future)]
    if pending:
        _, late = await asyncio.wait(pending, timeout=timeout)
        for future in late:
            future.cancel()  # frees its slot in nats-py's pending-publish window
    results: list[PubAck | BaseException] = []
    for f in futures:
        if not isinstance(f, asyncio.Future):
            results.append(f)
        elif f.cancelled():
            results.append(nats.errors.TimeoutError())
        elif (exc := f.exception()) is not None:
            results.append(exc)
        else:
            results.append(f.result())
    return results
