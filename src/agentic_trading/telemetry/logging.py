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
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import orjson
import structlog
from structlog.contextvars import bind_contextvars, bound_contextvars, merge_contextvars

from agentic_trading.telemetry.log_file import ENV_VAR as LOG_FILE_ENV
from agentic_trading.telemetry.log_file import LogFile, open_log_file


def _orjson_dumps(obj: object, default: object = None) -> str:
    return orjson.dumps(obj, default=default).decode()


def configure_logging(service: str, level: str = "info") -> None:
    """JSON lines to the program's own log file (``AT_LOG_FILE``, ``log_file.py``), else to stdout.

    ``atctl up`` sets ``AT_LOG_FILE`` for each of our programs; run by hand (or in tests)
    a program prints to stdout as before.
    """
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}: use debug, info, warning or error (AT_LOG_LEVEL)")
    target = os.environ.get(LOG_FILE_ENV)
    log_file = _log_file_for(target) if target else None
    processors: list[Any] = [
        merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
        structlog.processors.format_exc_info,
    ]
    if log_file is None:
        processors.append(structlog.processors.JSONRenderer(serializer=_orjson_dumps))
        factory: Any = structlog.WriteLoggerFactory(file=sys.stdout)
    else:
        processors.append(structlog.processors.JSONRenderer(serializer=orjson.dumps))
        factory = _LineLoggerFactory(log_file)
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=factory,
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.clear_contextvars()
    bind_contextvars(service=service)
    _volume.update(service=service, enabled=numeric <= logging.INFO, log_file=log_file)
    # Libraries that use stdlib logging (uvicorn, nats) go to stderr as plain text (the log file under atctl).
    logging.basicConfig(level=max(numeric, logging.WARNING), stream=sys.stderr)


_open_files: dict[str, LogFile] = {}


def _log_file_for(target: str) -> LogFile:
    """One LogFile (and flush thread) per path and process, however often logging is configured."""
    if target not in _open_files:
        _open_files[target] = open_log_file(Path(target))
    return _open_files[target]


class _LineLogger:
    """What structlog calls with each rendered line (bytes): queued in the log file, no flush per line."""

    __slots__ = ("_write",)

    def __init__(self, log_file: LogFile):
        self._write = log_file.write

    def msg(self, message: bytes) -> None:
        self._write(message + b"\n")

    log = debug = info = warn = warning = error = err = critical = exception = fatal = failure = msg


class _LineLoggerFactory:
    def __init__(self, log_file: LogFile):
        self._logger = _LineLogger(log_file)

    def __call__(self, *args: Any) -> _LineLogger:
        return self._logger


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)


@contextmanager
def bind_signal(signal_id: str | None, correlation_id: str | None) -> Iterator[None]:
    """Every log line inside the block carries this signal's ids."""
    with bound_contextvars(signal_id=signal_id, correlation_id=correlation_id):
        yield


# What configure_logging decided, for SignalLines (which bypasses structlog).
_volume: dict[str, Any] = {"service": "", "enabled": True, "log_file": None}


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
    is never lost to a crash after the ack it describes (other lines, queued in the log file,
    may lose their last 100 ms to a SIGKILL: ``log_file.py``).
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
        """Write the lines with one call (in the log file: together with whatever it had queued).

        Per-signal lines are never left in the log file's 100 ms queue: with the gateway's
        ``signal_accepted`` queued, a fast pipeline logged the decision before it and ``atctl
        trace`` run at once missed the gateway.
        """
        if self._lines:
            log_file: LogFile | None = _volume["log_file"]
            if log_file is not None:
                log_file.write(b"".join(self._lines))
                log_file.flush()
            else:
                sys.stdout.write(b"".join(self._lines).decode())
                sys.stdout.flush()
            self._lines.clear()
