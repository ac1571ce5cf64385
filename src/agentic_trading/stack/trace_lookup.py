"""Find one signal by its signal id or correlation id, then read only the logs around it.

Where a signal is, in the order asked:

1. Redis (the orchestrator's own record): ``at:decision:<signal_id>`` holds the decision with
   both ids and its times; ``at:correlation:<correlation_id>`` names the signal id; the
   workflow hash ``at:wf:<signal_id>`` holds a signal still waiting for its opinions.
2. The last minutes of the gateway's log (bounded): a signal the orchestrator never saw
   (it is down, or the webhook was a duplicate answered with another correlation id).

Neither: the id is unknown (exit 2 at once); found but not decided: it stalled (exit 1
after the timeout). Lines are then read from every JSON log between the signal's arrival
and its decision, by bisection (:mod:`log_window`), never by scanning whole files.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from agentic_trading.redis_keys import correlation_key, decision_key, workflow_key
from agentic_trading.stack.errors import StackError
from agentic_trading.stack.log_window import is_json_log, lines_between
from agentic_trading.stack.logs import log_files, make_line, service_of
from agentic_trading.stack.trace import Trace, matching_events, parse_ts, sort_events

# Lines of one signal fall between its arrival and its decision; agents' acknowledgements
# may be logged a little after the decision, and clocks of lines are the writers' own.
MARGIN = timedelta(seconds=5)
GATEWAY_LOOKBACK = timedelta(minutes=10)
GATEWAY_MAX_BYTES = 8 * 1024 * 1024


def quick_redis(url: str, timeout_s: float = 0.5) -> redis.Redis:
    """A client for a command line: short timeouts and no retries, so a dead Redis costs < 1 s."""
    return redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s, retry=Retry(NoBackoff(), 0))


class UnknownTraceIdError(StackError):
    """No signal has this id: nothing to wait for (exit 2)."""

    exit_code = 2

    def __init__(self, ident: str, where: str):
        super().__init__(
            f"No signal with id {ident!r} ({where}): give the signal_id or correlation_id "
            "from the gateway's 200 answer (or its X-Correlation-ID header)"
        )


@dataclass
class TraceTarget:
    """What is known of one signal before reading its log lines."""

    signal_id: str | None
    correlation_ids: set[str]
    since: datetime
    decision: dict[str, Any] | None = None
    found_in: str = "redis"

    @property
    def decided_at(self) -> datetime | None:
        if self.decision is None or not isinstance(self.decision.get("decided_at"), (int, float)):
            return None
        return datetime.fromtimestamp(self.decision["decided_at"], UTC)


def _loads(raw: bytes | None) -> dict[str, Any] | None:
    if not raw:
        return None
    value = orjson.loads(raw)
    return value if isinstance(value, dict) else None


def target_from_redis(client: redis.Redis, ident: str) -> TraceTarget | None:
    """The signal named by ``ident`` (either id) as the orchestrator recorded it; None if unknown."""
    signal_id = ident
    decision = _loads(client.get(decision_key(ident)))
    signal = _loads(client.hget(workflow_key(ident), "signal"))
    if decision is None and signal is None:
        indexed = client.get(correlation_key(ident))
        if indexed is None:
            return None
        signal_id = indexed.decode()
        decision = _loads(client.get(decision_key(signal_id)))
        signal = _loads(client.hget(workflow_key(signal_id), "signal"))
    return target_from_records(signal_id, ident, decision, signal)


def target_from_records(
    signal_id: str, ident: str, decision: dict[str, Any] | None, signal: dict[str, Any] | None
) -> TraceTarget:
    """Pure: ids and the arrival time from the decision record or the waiting signal."""
    ids = {ident} if ident != signal_id else set()
    arrived: float | None = None
    for record in (decision, signal):
        if record is None:
            continue
        if isinstance(record.get("correlation_id"), str):
            ids.add(record["correlation_id"])
        if arrived is None and isinstance(record.get("received_at"), (int, float)):
            arrived = float(record["received_at"])
    if arrived is None and decision is not None:
        decided, latency = decision.get("decided_at"), decision.get("latency_s", 0.0)
        if isinstance(decided, (int, float)) and isinstance(latency, (int, float)):
            arrived = float(decided) - float(latency)
    since = datetime.fromtimestamp(arrived, UTC) if arrived is not None else datetime.now(UTC) - GATEWAY_LOOKBACK
    return TraceTarget(signal_id, ids, since, decision)


def target_from_gateway_log(log_dir: Path, ident: str, now: datetime) -> TraceTarget | None:
    """The gateway's line for ``ident`` in its last minutes of logs (bounded in bytes)."""
    for path in reversed(log_files(log_dir, include_rotated=True)):
        if service_of(path) != "gateway":
            continue
        for text in reversed(lines_between(path, now - GATEWAY_LOOKBACK, now + MARGIN, max_bytes=GATEWAY_MAX_BYTES)):
            line = make_line("gateway", text)
            record = line.record or {}
            if ident in (record.get("correlation_id"), record.get("signal_id")):
                ts = parse_ts(record.get("ts")) or now - GATEWAY_LOOKBACK
                ids = {str(record["correlation_id"])} if record.get("correlation_id") else set()
                signal_id = record.get("signal_id")
                return TraceTarget(str(signal_id) if signal_id else None, ids, ts, found_in="gateway log")
    return None


def read_trace(log_dir: Path, target: TraceTarget, until: datetime) -> Trace:
    """Every JSON log line of the target's correlation ids between its arrival and ``until``."""
    start, end = target.since - MARGIN, until + MARGIN
    events = []
    for path in log_files(log_dir, include_rotated=True):
        if not is_json_log(path):
            continue
        lines = [make_line(service_of(path), text) for text in lines_between(path, start, end)]
        for correlation_id in target.correlation_ids:
            events += matching_events(lines, correlation_id)
    primary = next(iter(sorted(target.correlation_ids)), target.signal_id or "")
    if target.decision is not None and isinstance(target.decision.get("correlation_id"), str):
        primary = target.decision["correlation_id"]
    return Trace(primary, sort_events(events))


@dataclass
class TraceResult:
    target: TraceTarget
    trace: Trace
    waited_s: float = 0.0
    notes: list[str] = field(default_factory=list)


def find_trace(
    ident: str,
    log_dir: Path,
    client: redis.Redis | None,
    timeout: float = 5.0,
    interval: float = 0.2,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> TraceResult:
    """Resolve ``ident``, wait up to ``timeout`` for its decision, return its lines.

    Raises :class:`UnknownTraceIdError` when neither Redis nor the gateway's recent log knows it.
    ``client`` None (Redis down): the gateway's log alone, and decisions from the logs.
    """
    started = clock()
    notes: list[str] = []
    target, client = _resolve(ident, log_dir, client, notes)
    deadline = started + timeout
    while target.decision is None and client is not None and target.signal_id and clock() < deadline:
        sleep(interval)
        try:
            target.decision = _loads(client.get(decision_key(target.signal_id)))
        except redis.RedisError as exc:
            notes.append(f"Redis stopped answering ({exc}); reading the decision from the logs")
            client = None
    until = target.decided_at or datetime.now(UTC)
    trace = read_trace(log_dir, target, until)
    # The decision line is written just after the decision is recorded: give the log a moment.
    grace = clock() + 1.0
    while target.decision is not None and trace.decision is None and clock() < grace:
        sleep(interval)
        trace = read_trace(log_dir, target, until)
    while client is None and trace.decision is None and clock() < deadline:
        sleep(interval)
        trace = read_trace(log_dir, target, datetime.now(UTC))
    return TraceResult(target, trace, clock() - started, notes)


def _resolve(ident: str, log_dir: Path, client: redis.Redis | None, notes: list[str]) -> tuple[TraceTarget, redis.Redis | None]:
    """The target, and the client (None from the first Redis error: the logs alone then)."""
    if client is not None:
        try:
            found = target_from_redis(client, ident)
        except redis.RedisError as exc:
            notes.append(f"Redis did not answer ({exc}); searched the logs only")
            found, client = None, None
        if found is not None:
            return found, client
    found = target_from_gateway_log(log_dir, ident, datetime.now(UTC))
    if found is None:
        where = "not in Redis nor in the gateway's last 10 minutes of logs"
        raise UnknownTraceIdError(ident, where if client is not None else "not in the gateway's last 10 minutes of logs")
    if found.signal_id and client is not None:
        in_redis = target_from_redis(client, found.signal_id)
        if in_redis is not None:
            in_redis.correlation_ids |= found.correlation_ids
            return in_redis, client
    return found, client
