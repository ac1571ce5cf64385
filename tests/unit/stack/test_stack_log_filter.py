"""Log filters: a level and everything above it, since a duration or a time; bad input named."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agentic_trading.stack.log_filter import LogFilter, LogFilterError, parse_level, parse_since
from agentic_trading.stack.logs import make_line

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def _line(level: str, ts: str = "2026-01-01T11:59:00Z"):
    return make_line("gateway", f'{{"level": "{level}", "event": "x", "service": "gateway", "ts": "{ts}"}}')


@pytest.mark.parametrize(("text", "expected"), [("90s", "11:58:30"), ("10m", "11:50:00"), ("2h", "10:00:00"), ("1d", "12:00:00")])
def test_durations_count_back_from_now(text, expected):
    assert parse_since(text, NOW).strftime("%H:%M:%S") == expected


def test_an_iso_time_without_zone_is_utc_and_garbage_is_refused_with_examples():
    assert parse_since("2026-01-01T10:30:00", NOW) == datetime(2026, 1, 1, 10, 30, tzinfo=UTC)
    with pytest.raises(LogFilterError, match="90s, 10m") as raised:
        parse_since("yesterday", NOW)
    assert raised.value.exit_code == 2


def test_a_level_keeps_itself_and_above_and_drops_plain_text():
    keep_warnings = LogFilter(min_level=parse_level("WARN"))
    assert [keep_warnings.matches(_line(level)) for level in ("debug", "info", "warning", "error")] == [False, False, True, True]
    assert not keep_warnings.matches(make_line("nats", "[INF] Server is ready"))
    with pytest.raises(LogFilterError, match="debug, info"):
        parse_level("loud")


def test_since_drops_older_json_lines_and_keeps_plain_text():
    recent = LogFilter(since=parse_since("30s", NOW))
    assert not recent.matches(_line("info", "2026-01-01T11:59:00Z"))
    assert recent.matches(_line("info", "2026-01-01T11:59:45Z"))
    assert recent.matches(make_line("nats", "[INF] Server is ready"))
