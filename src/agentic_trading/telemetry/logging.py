"""Structured JSON logs: one object per line, always with ``service``.

``correlation_id`` and ``signal_id`` are bound from context with :func:`bind_signal`
(contextvars), never passed by hand, so every line written while a signal is being
handled carries them; ``atctl trace`` follows one signal through all services by them.

The per-signal lines of the pipeline (one per signal per service, what ``atctl trace``
reads) go through :class:`SignalLines` instead: the same JSON object, built in one
``orjson.dumps`` with the ids passed explicitly and written once per batch. At 1,000
signals/s structlog's processor chain and a write per line were 10-20 % of an agent's and
the orchestrator's CPU (``docs/benchmarks.md``, "Where the CPU goes").
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson
import structlog
from structlog.contextvars import bind_contextvars, bound_contextvars, merge_contextvars


def _orjson_dumps(obj: object, default: object = None) -> str:
    return orjson.dumps(obj, default=default).decode()


def configure_logging(service: str, level: str = "info") -> None:
    """Send JSON lines to stdout (the supervisor writes them to the service's log file)."""
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}: use debug, info, warning or error (AT_LOG_LEVEL)")
    structlog.configure(
        processors=[
            merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(serializer=_orjson_dumps),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.WriteLoggerFactory(file=sys.stdout),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.clear_contextvars()
    bind_contextvars(service=service)
    _volume.update(service=service, enabled=numeric <= logging.INFO)
    # Libraries that use stdlib logging (uvicorn, nats) go to stderr as plain text.
    logging.basicConfig(level=max(numeric, logging.WARNING), stream=sys.stderr)


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)


@contextmanager
def bind_signal(signal_id: str | None, correlation_id: str | None) -> Iterator[None]:
    """Every log line inside the block carries this signal's ids."""
    with bound_contextvars(signal_id=signal_id, correlation_id=correlation_id):
        yield


# What configure_logging decided, for SignalLines (which bypasses structlog).
_volume: dict[str, Any] = {"service": "", "enabled": True}


class LoggedSignal(Protocol):
    """What a per-signal line names (``signals.Signal`` has it; telemetry imports no contract)."""

    signal_id: str
    correlation_id: str
    instrument: str
    action: str
    test: bool


class SignalLines:
    """Info lines about individual signals, buffered and written together.

    Each line is the object structlog would have written (``service``, ``signal_id``,
    ``correlation_id``, ``event``, the fields, ``level``, ``ts``); :meth:`flush` writes the
    buffer with one call. Call it once per batch, before acknowledging the batch, so a line
    is never lost to a crash after the ack it describes.
    """

    __slots__ = ("_lines",)

    def __init__(self) -> None:
        self._lines: list[bytes] = []

    def info(self, event: str, signal_id: str, correlation_id: str, **fields: Any) -> None:
        if not _volume["enabled"]:
            return
        record = {"service": _volume["service"], "signal_id": signal_id, "correlation_id": correlation_id, "event": event}
        record.update(fields)
        record["level"] = "info"
        record["ts"] = datetime.now(UTC)
        self._lines.append(orjson.dumps(record, option=orjson.OPT_UTC_Z | orjson.OPT_APPEND_NEWLINE))

    def signal(self, event: str, signal: LoggedSignal, **fields: Any) -> None:
        """A line about ``signal`` that names it the same way in every service (what `atctl trace` reads)."""
        self.info(
            event,
            signal.signal_id,
            signal.correlation_id,
            instrument=signal.instrument,
            action=signal.action,
            test=signal.test,
            **fields,
        )

    def flush(self) -> None:
        if self._lines:
            sys.stdout.write(b"".join(self._lines).decode())
            sys.stdout.flush()
            self._lines.clear()
