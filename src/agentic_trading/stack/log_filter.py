"""Which log lines a reader asked for: level at least X, some services, since a time. Pure.

Plain-text lines (daemons, library output) have no level: a ``--level`` filter drops them,
since it asks for structured events of a severity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from agentic_trading.stack.errors import StackError
from agentic_trading.stack.logs import LogLine
from agentic_trading.stack.trace import parse_ts

LEVELS: tuple[str, ...] = ("debug", "info", "warning", "error", "critical")
_DURATION_RE = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class LogFilterError(StackError):
    """A filter option that cannot be read (exit 2: bad input)."""

    exit_code = 2


def parse_since(value: str, now: datetime) -> datetime:
    """``90s``, ``10m``, ``2h``, ``1d`` before ``now``, or an ISO 8601 time (UTC when no zone)."""
    text = value.strip()
    match = _DURATION_RE.match(text)
    if match:
        return now - timedelta(seconds=float(match.group(1)) * _UNIT_S[match.group(2)])
    parsed = parse_ts(text)
    if parsed is None:
        raise LogFilterError(
            f"--since {value!r}: give a duration such as 90s, 10m, 2h, 1d or a time such as 2026-01-15T10:30:00Z"
        )
    return parsed


def parse_level(value: str) -> str:
    level = value.strip().lower()
    if level == "warn":
        level = "warning"
    if level not in LEVELS:
        raise LogFilterError(f"--level {value!r}: one of {', '.join(LEVELS)}")
    return level


@dataclass(frozen=True)
class LogFilter:
    min_level: str | None = None
    since: datetime | None = None

    def matches(self, line: LogLine) -> bool:
        record = line.record
        if self.min_level is not None:
            level = str(record.get("level", "")).lower() if record else ""
            if level not in LEVELS or LEVELS.index(level) < LEVELS.index(self.min_level):
                return False
        if self.since is not None and record is not None:
            when = parse_ts(record.get("ts"))
            if when is not None and when < self.since:
                return False
        return True


def now_utc() -> datetime:
    return datetime.now(UTC)
