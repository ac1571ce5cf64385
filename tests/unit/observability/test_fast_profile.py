"""The fast profile's pure helpers and the duration module: windows scaled, durations round-tripped."""

from __future__ import annotations

import pytest

from agentic_trading.observability import ObservabilityError
from agentic_trading.observability.durations import format_age, format_duration, parse_duration
from agentic_trading.observability.fast import scale_range_windows


@pytest.mark.parametrize(
    ("expr", "scaled"),
    [
        ("rate(x[5m])", "rate(x[20s])"),
        ("rate(x[15m]) / rate(y[5m])", "rate(x[1m]) / rate(y[20s])"),
        ("rate(x[1h30m])", "rate(x[6m])"),
        ("rate(x[1m])", "rate(x[4s])"),  # never under 4 scrapes
        ('rate(x{le=~"[0-9]+"}[5m])', 'rate(x{le=~"[0-9]+"}[20s])'),  # a regex is not a window
        ("up == 0", "up == 0"),
    ],
)
def test_range_windows_scale_by_the_interval_ratio(expr: str, scaled: str) -> None:
    assert scale_range_windows(expr, 1 / 15) == scaled


@pytest.mark.parametrize(("text", "seconds"), [("0s", 0), ("900ms", 0.9), ("20s", 20), ("5m", 300), ("1h30m", 5400)])
def test_durations_round_trip(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds
    assert format_duration(seconds) == text


def test_a_bad_duration_says_what_is_expected() -> None:
    with pytest.raises(ObservabilityError, match="not a Prometheus duration"):
        parse_duration("5 minutes")


@pytest.mark.parametrize(("seconds", "text"), [(-3, "0s"), (59, "59s"), (3599, "59m59s"), (86399, "23h59m"), (90000, "1d01h")])
def test_ages_show_two_units_at_most(seconds: int, text: str) -> None:
    assert format_age(seconds) == text
