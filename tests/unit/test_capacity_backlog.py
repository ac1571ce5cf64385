"""The pipeline's lag as the gateway judges it: the age of SIGNALS' first message (interest retention)."""

from __future__ import annotations

from datetime import UTC, datetime

from agentic_trading.capacity import backlog_problem, first_message_age

NOW = datetime(2026, 11, 30, 6, 0, 10, tzinfo=UTC).timestamp()


def test_an_empty_stream_has_no_backlog() -> None:
    assert first_message_age({"state": {"messages": 0, "first_ts": "0001-01-01T00:00:00Z"}}, NOW) == 0.0
    assert first_message_age({}, NOW) == 0.0


def test_the_age_comes_from_the_first_message_with_nanoseconds() -> None:
    info = {"state": {"messages": 12, "first_ts": "2026-11-30T06:00:08.750000123Z"}}
    assert abs(first_message_age(info, NOW) - 1.25) < 1e-6


def test_over_half_the_deadline_is_a_problem_that_names_the_limit() -> None:
    assert backlog_problem(0.9, deadline_s=2.0) is None
    problem = backlog_problem(1.4, deadline_s=2.0)
    assert problem is not None and "1.4 s old" in problem and "limit 1 s" in problem and "over capacity" in problem
