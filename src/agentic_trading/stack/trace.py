"""Follow one signal through every service by its ``correlation_id`` in the JSON logs.

Pure parsing and ordering (:func:`build_trace`) apart from the polling (:func:`wait_for_trace`),
so the first is unit-tested on fixture lines.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from agentic_trading.stack.logs import LogFollower, LogLine, log_files

DECISION_EVENT = "decision_published"
_STANDARD_KEYS = frozenset({"ts", "level", "event", "service", "correlation_id", "signal_id"})
_FAR_FUTURE = datetime.max.replace(tzinfo=UTC)


def parse_ts(value: Any) -> datetime | None:
    """An ISO timestamp as an aware datetime (naive ones are taken as UTC); None if unreadable."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class TraceEvent:
    ts: datetime | None
    service: str
    event: str
    signal_id: str | None
    level: str
    fields: dict[str, Any]  # the event-specific keys
    record: dict[str, Any]  # the whole log line

    @classmethod
    def from_line(cls, line: LogLine) -> TraceEvent:
        record = line.record or {}
        signal_id = record.get("signal_id")
        return cls(
            ts=parse_ts(record.get("ts")),
            service=str(record.get("service") or line.service),
            event=str(record.get("event", "")),
            signal_id=str(signal_id) if signal_id is not None else None,
            level=str(record.get("level", "")),
            fields={k: v for k, v in record.items() if k not in _STANDARD_KEYS},
            record=record,
        )

    @property
    def is_decision(self) -> bool:
        return self.event == DECISION_EVENT

    def details(self) -> str:
        """``key=value`` for the event-specific fields, for one table cell."""
        return " ".join(f"{key}={_compact(value)}" for key, value in self.fields.items())


def _compact(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


@dataclass
class Trace:
    correlation_id: str
    events: list[TraceEvent] = field(default_factory=list)

    @property
    def decision(self) -> TraceEvent | None:
        """The orchestrator's ``decision_published`` line, if it has been written."""
        decisions = [e for e in self.events if e.is_decision]
        return decisions[-1] if decisions else None

    @property
    def services(self) -> list[str]:
        return sorted({e.service for e in self.events})

    def to_dict(self) -> dict[str, Any]:
        decision = self.decision
        return {
            "correlation_id": self.correlation_id,
            "events": [e.record for e in self.events],
            "decision": decision.record if decision else None,
        }


def matching_events(lines: Iterable[LogLine], correlation_id: str | frozenset[str]) -> list[TraceEvent]:
    """Events of JSON lines whose ``correlation_id`` is this one (or one of these; plain-text lines are skipped)."""
    wanted = frozenset([correlation_id]) if isinstance(correlation_id, str) else correlation_id
    return [
        TraceEvent.from_line(line) for line in lines if line.record is not None and line.record.get("correlation_id") in wanted
    ]


def linked_correlation_ids(events: Iterable[TraceEvent]) -> set[str]:
    """The originals a retry's events point to: the gateway answers a duplicate with the original's id."""
    return {value for e in events if isinstance(value := e.record.get("original_correlation_id"), str) and value}


def sort_events(events: Iterable[TraceEvent]) -> list[TraceEvent]:
    """By time; lines without a readable ``ts`` last, in the order they were read."""
    return sorted(events, key=lambda e: e.ts or _FAR_FUTURE)


def build_trace(lines: Iterable[LogLine], correlation_id: str) -> Trace:
    """This id's events, and a retry's original's (``linked_correlation_ids``) when it was a duplicate."""
    lines = list(lines)
    events = matching_events(lines, correlation_id)
    linked = linked_correlation_ids(events) - {correlation_id}
    if linked:
        events = matching_events(lines, frozenset({correlation_id, *linked}))
    return Trace(correlation_id, sort_events(events))


class TraceCollector:
    """Reads the log directory incrementally, keeping this correlation id's events (and its original's)."""

    def __init__(self, log_dir: Path, correlation_id: str):
        self.correlation_id = correlation_id
        self._log_dir = log_dir
        self._ids = frozenset([correlation_id])
        self._follower = self._new_follower()
        self._events: list[TraceEvent] = []

    def _new_follower(self) -> LogFollower:
        return LogFollower(lambda: log_files(self._log_dir, include_rotated=True), from_start=True)

    def poll(self) -> Trace:
        self._events += matching_events(self._follower.read_new(), self._ids)
        linked = linked_correlation_ids(self._events) - self._ids
        if linked:  # a retry: read everything again for the original's lines, written before
            self._ids = self._ids | linked
            self._follower = self._new_follower()
            self._events = matching_events(self._follower.read_new(), self._ids)
        return Trace(self.correlation_id, sort_events(self._events))


def wait_for_trace(
    log_dir: Path,
    correlation_id: str,
    timeout: float = 5.0,
    interval: float = 0.2,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Trace:
    """Poll the logs until the decision line for ``correlation_id`` appears or ``timeout`` passes."""
    collector = TraceCollector(log_dir, correlation_id)
    deadline = clock() + timeout
    while True:
        trace = collector.poll()
        if trace.decision is not None:
            # Files are read one after another, so a line written to an earlier file while a later
            # one was read is missed by this pass; every line precedes the decision: one more pass.
            return collector.poll()
        if clock() >= deadline:
            return trace
        sleep(interval)
