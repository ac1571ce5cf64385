"""JetStream streams, subjects, consumers and the publish/consume helpers.

Streams (file storage, deduplication window from settings):

* ``SIGNALS``   ``signals.<instrument>``   written by the gateway, message id = signal_id
* ``OPINIONS``  ``opinions.<agent_type>``  written by the agents, message id = signal_id:agent_type
* ``DECISIONS`` ``decisions.<instrument>`` written by the orchestrator, message id = signal_id

Each agent type has its own durable pull consumer on ``SIGNALS`` (so every type sees
every signal, and replicas of one type share the work); the orchestrator has one on
``SIGNALS`` and one on ``OPINIONS``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import nats
import nats.errors
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from agentic_trading.errors import AgenticTradingError
from agentic_trading.settings import Settings
from agentic_trading.telemetry.logging import get_logger

SIGNALS_STREAM = "SIGNALS"
OPINIONS_STREAM = "OPINIONS"
DECISIONS_STREAM = "DECISIONS"
STREAM_SUBJECTS = {
    SIGNALS_STREAM: "signals.>",
    OPINIONS_STREAM: "opinions.>",
    DECISIONS_STREAM: "decisions.>",
}
MSG_ID_HEADER = "Nats-Msg-Id"
CORRELATION_HEADER = "X-Correlation-ID"

# A message not acknowledged within this is redelivered (a killed consumer's work).
ACK_WAIT_S = 5.0
MAX_ACK_PENDING = 2000
STREAM_MAX_AGE_S = 24 * 3600
STREAM_MAX_BYTES = 1024 * 1024 * 1024

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


class BusUnavailable(AgenticTradingError, RuntimeError):
    """NATS could not be reached; the message says where and what to do."""

    exit_code = 2


async def connect(
    settings: Settings,
    service: str,
    *,
    wait: bool = True,
    on_state: Callable[[bool], Awaitable[None] | None] | None = None,
) -> NATS:
    """Connect to NATS, reconnecting forever afterwards.

    With ``wait`` the first connection is retried until it succeeds (a service that
    cannot work without the bus); otherwise one attempt is made and
    :class:`BusUnavailable` raised.
    """

    async def _disconnected() -> None:
        log.warning("nats_disconnected", url=settings.nats_url)
        if on_state:
            result = on_state(False)
            if result is not None:
                await result

    async def _reconnected() -> None:
        log.info("nats_reconnected", url=settings.nats_url)
        if on_state:
            result = on_state(True)
            if result is not None:
                await result

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
            )
        except Exception as exc:  # noqa: BLE001 - nats-py raises several unrelated types here
            if not wait:
                raise BusUnavailable(
                    f"NATS at {settings.nats_url} is not answering ({exc}): is the stack up? (atctl status)"
                ) from exc
            log.warning("nats_connect_retry", url=settings.nats_url, error=str(exc), retry_in_s=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
            continue
        if on_state:
            result = on_state(True)
            if result is not None:
                await result
        return nc


async def ensure_streams(js: JetStreamContext, settings: Settings) -> None:
    """Create or update the three streams (idempotent; every service may call it)."""
    for name, subject in STREAM_SUBJECTS.items():
        config = StreamConfig(
            name=name,
            subjects=[subject],
            storage=StorageType.FILE,
            retention=RetentionPolicy.LIMITS,
            duplicate_window=settings.dedup_window_s,
            max_age=STREAM_MAX_AGE_S,
            max_bytes=STREAM_MAX_BYTES,
        )
        try:
            await js.add_stream(config)
        except BadRequestError:
            await js.update_stream(config)


async def ensure_consumer(js: JetStreamContext, stream: str, durable: str, filter_subject: str) -> None:
    """Create a durable pull consumer if it does not exist yet."""
    try:
        await js.consumer_info(stream, durable)
        return
    except NotFoundError:
        pass
    await js.add_consumer(
        stream,
        ConsumerConfig(
            durable_name=durable,
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=ACK_WAIT_S,
            max_ack_pending=MAX_ACK_PENDING,
            filter_subject=filter_subject,
        ),
    )


async def pull_subscription(
    js: JetStreamContext, stream: str, durable: str, filter_subject: str
) -> JetStreamContext.PullSubscription:
    await ensure_consumer(js, stream, durable, filter_subject)
    return await js.pull_subscribe_bind(durable=durable, stream=stream)


# After the first message, how long a fetch may wait for more that are already on their way.
_TOP_UP_TIMEOUT_S = 0.005


async def fetch_batch(psub: JetStreamContext.PullSubscription, batch: int, timeout: float) -> list[Msg]:
    """Up to ``batch`` messages, returned as soon as at least one is there.

    nats-py's ``fetch(batch, timeout)`` with nothing pending sends a lingering pull and, once
    the first message arrives, keeps waiting for the rest of the batch until ``timeout``: at a
    trickle of signals every hop would then cost the whole timeout. So: block for one, then
    take whatever else is ready. Raises ``nats.errors.TimeoutError`` when nothing came.
    """
    messages = await psub.fetch(1, timeout=timeout)
    if batch <= 1:
        return messages
    try:
        return messages + await psub.fetch(batch - 1, timeout=_TOP_UP_TIMEOUT_S)
    except nats.errors.TimeoutError:
        return messages  # nothing else was ready: the one we have is the batch
    except Exception as exc:  # noqa: BLE001 - keep what was fetched; the next fetch meets the error
        log.warning("fetch_top_up_failed", error=f"{type(exc).__name__}: {exc}")
        return messages
