"""Storing a signal on JetStream, and what the answer promises the client about it.

Every outcome of a publish is one of:

* **stored** (200): JetStream acknowledged it; ``duplicate: true`` when it had it already,
  and then ``correlation_id`` is the *original's* (a retry's own id is in ``retry_correlation_id``);
* **not stored** (503, ``Retry-After``): nothing reached JetStream, or JetStream refused it:
  no connection (``bus_unavailable``; counted as a failed publish only once the gateway had
  connected: a gateway still starting attempted none), too many publishes waiting (``overloaded``), the
  stream is full (``stream_full``; its consumers are behind). Retry freely;
* **outcome unknown** (503 ``outcome_unknown``): the publish was sent but no acknowledgement
  came (timeout, connection lost after sending). The signal may well be stored: nats-py
  re-sends what it buffered once it reconnects. The client must retry with the same body or
  the same ``Idempotency-Key``: a stored signal then comes back ``duplicate: true``, and
  however late the retry, the orchestrator decides a signal id once.
"""

from __future__ import annotations

from typing import Any

import orjson
import redis.asyncio as aioredis
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from agentic_trading import bus
from agentic_trading.gateway.answers import RETRY_AFTER, Answer
from agentic_trading.gateway.due import DueWatch
from agentic_trading.gateway.outbox import OUTBOX
from agentic_trading.redis_keys import decision_key, workflow_key
from agentic_trading.settings import Settings
from agentic_trading.signals import Signal
from agentic_trading.telemetry.logging import bind_signal, get_logger
from agentic_trading.telemetry.metrics import GatewayMetrics

log = get_logger("gateway")

STREAM_FULL_RETRY_AFTER = [(b"retry-after", b"5")]


class SignalPublisher:
    """Publishes signals with a cap on those waiting for JetStream, and answers for each outcome."""

    def __init__(self, settings: Settings, metrics: GatewayMetrics):
        self.settings = settings
        self.metrics = metrics
        self.due = DueWatch(metrics.signals_due, settings.decision_deadline_s)  # run by the app (Gateway.startup)
        self.inflight = 0
        metrics.inflight_publishes.set_function(lambda: self.inflight)

    async def publish(self, nc: NATS | None, js: JetStreamContext | None, redis: aioredis.Redis | None, signal: Signal) -> Answer:
        """Store ``signal`` and answer for the outcome.

        The log lines of a refusal, a failure or a duplicate carry the signal's ids through
        ``bind_signal``; a stored signal's one line names them itself, so the common path does
        without the binding (about a tenth of the gateway's CPU at saturation, docs/benchmarks.md).
        """
        if nc is None or js is None:
            # Still starting: no publish was attempted, so none failed. Counting it paged a
            # critical NATSPublishFailure on every gateway restart under traffic; /readyz says
            # "not connected" meanwhile, which is what a restart is.
            return self._not_stored(signal, "bus_unavailable", "the gateway is still connecting to NATS", None)
        if not nc.is_connected:  # was connected, lost it: an outage or a partition, counted
            with bind_signal(signal.signal_id, signal.correlation_id):
                return self._not_stored(
                    signal, "bus_unavailable", "the gateway is not connected to NATS", "not connected to NATS"
                )
        if self.inflight >= self.settings.max_inflight_publishes:
            self.metrics.backpressure_rejections.inc()
            with bind_signal(signal.signal_id, signal.correlation_id):
                log.warning("signal_refused_overloaded", inflight=self.inflight)
            return self._not_stored(
                signal,
                "overloaded",
                f"{self.inflight} signals are already waiting for JetStream (AT_MAX_INFLIGHT_PUBLISHES)",
                None,
            )
        self.inflight += 1
        try:
            ack = await js.publish(
                bus.signal_subject(signal.subject_token),
                signal.to_json(),
                timeout=self.settings.publish_timeout_s,
                headers={bus.MSG_ID_HEADER: signal.signal_id, bus.CORRELATION_HEADER: signal.correlation_id},
            )
        except Exception as exc:  # noqa: BLE001 - every failure is a 503, counted, logged and classified
            with bind_signal(signal.signal_id, signal.correlation_id):
                return self._failed(signal, exc)
        finally:
            self.inflight -= 1
        body: dict[str, Any] = {
            "status": "accepted",
            "signal_id": signal.signal_id,
            "correlation_id": signal.correlation_id,
            "test": signal.test,
            "duplicate": bool(ack.duplicate),
        }
        if not ack.duplicate:
            self.due.accepted(signal.signal_id, signal.received_at)  # the objective counts it once, when due
        else:
            self.metrics.duplicates.inc()
            with bind_signal(signal.signal_id, signal.correlation_id):
                original = await original_correlation_id(js, redis, signal.signal_id, ack.seq)
            if original is not None and original != signal.correlation_id:
                body["correlation_id"] = original
                body["retry_correlation_id"] = signal.correlation_id
        # The per-signal line, without structlog's chain (telemetry/logging.py). Written before the 200
        # (with the other lines of this turn of the loop, outbox.py): a client that traces the signal at
        # once finds it, and the decision can never be logged before it.
        OUTBOX.add(
            "signal_accepted",
            signal,
            stream_seq=ack.seq,
            duplicate=bool(ack.duplicate),
            original_correlation_id=body["correlation_id"],
        )
        return 200, body, []

    def _failed(self, signal: Signal, exc: BaseException) -> Answer:
        why = f"{type(exc).__name__}: {exc}"
        if bus.is_stream_full(exc):
            return self._not_stored(
                signal,
                "stream_full",
                "the SIGNALS stream is full: the pipeline is behind (NATSStreamNearlyFull)",
                why,
                STREAM_FULL_RETRY_AFTER,
            )
        if isinstance(exc, bus.NOT_SENT_ERRORS):
            return self._not_stored(signal, "bus_unavailable", "the publish could not be sent to JetStream", why)
        self.metrics.publish_failures.inc()
        log.warning("signal_outcome_unknown", error=why)
        window = self.settings.dedup_window_s
        return (
            503,
            {
                "error": "outcome_unknown",
                "message": "the signal was sent but JetStream did not acknowledge it in time, so it may be stored: "
                f"retry with the same body or the same Idempotency-Key (within {window:g} s it is recognised at "
                "once; a stored signal is answered duplicate: true, and is never decided twice)",
                "correlation_id": signal.correlation_id,
                "signal_id": signal.signal_id,
            },
            RETRY_AFTER,
        )

    def _not_stored(
        self, signal: Signal, error: str, because: str, why: str | None, headers: list[tuple[bytes, bytes]] = RETRY_AFTER
    ) -> Answer:
        if why is not None:
            self.metrics.publish_failures.inc()
            log.warning("signal_not_stored", error=error, why=why)
        return (
            503,
            {
                "error": error,
                "message": f"{because}; the signal was not stored: retry after Retry-After",
                "correlation_id": signal.correlation_id,
                "signal_id": signal.signal_id,
            },
            headers,
        )


async def original_correlation_id(js: JetStreamContext, redis: aioredis.Redis | None, signal_id: str, seq: int) -> str | None:
    """The correlation id the first copy of a signal was accepted under, from wherever it still is.

    The stream holds it until every consumer acknowledged the signal; then the workflow (5
    minutes after the decision) and the decided marker (24 h, ``orchestrator/workflow.py``).
    """
    try:
        message = await js.get_msg(bus.SIGNALS_STREAM, seq)
        if message.headers and message.headers.get(bus.MSG_ID_HEADER) == signal_id:
            return message.headers.get(bus.CORRELATION_HEADER)
    except Exception as exc:  # noqa: BLE001 - consumed and gone: look in Redis
        log.debug("original_not_on_stream", error=f"{type(exc).__name__}: {exc}")
    if redis is None:
        return None
    try:
        signal_json, decided = await redis.hget(workflow_key(signal_id), "signal"), await redis.get(decision_key(signal_id))
    except Exception as exc:  # noqa: BLE001 - the answer stays 200 with the retry's own id
        log.warning("original_correlation_id_unavailable", error=f"{type(exc).__name__}: {exc}")
        return None
    for raw in (signal_json, decided):
        if raw:
            try:
                value = orjson.loads(raw)
                if isinstance(value, dict) and isinstance(value.get("correlation_id"), str):
                    return value["correlation_id"]
            except orjson.JSONDecodeError:
                continue
    return None
