"""The replay window, pure: old and future timestamps are refused naming timestamp."""

from datetime import UTC, datetime

import pytest

from agentic_trading.gateway.replay import FreshnessWindow, window_fits_dedup
from agentic_trading.settings import Settings

NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC).timestamp()


@pytest.fixture
def window() -> FreshnessWindow:
    return FreshnessWindow(max_age_s=90, max_skew_s=30)


@pytest.mark.parametrize("timestamp", ["2026-11-25T12:00:00Z", "2026-11-25T11:58:30Z", "2026-11-25T12:00:30Z"])
def test_inside_the_window_is_accepted(window, timestamp):
    assert window.check(timestamp, NOW) is None


@pytest.mark.parametrize(
    ("timestamp", "words"),
    [
        ("2026-11-25T11:58:29Z", "91 s old"),
        ("2024-01-15T10:30:00Z", "s old"),
        ("2026-11-25T12:00:31Z", "31 s ahead"),
        ("0001-01-01T00:00:00Z", "s old"),
        ("9999-12-31T23:59:59Z", "s ahead"),
    ],
)
def test_outside_the_window_is_refused_naming_timestamp_and_the_setting(window, timestamp, words):
    error = window.check(timestamp, NOW)
    assert error is not None
    assert error.field == "timestamp" and error.reason == "timestamp_out_of_window"
    assert words in error.message
    assert "AT_MAX_SIGNAL_AGE_S" in error.message or "AT_MAX_CLOCK_SKEW_S" in error.message


def test_the_window_comes_from_settings_and_0_turns_it_off():
    assert FreshnessWindow.from_settings(Settings(max_signal_age_s=0)) is None
    window = FreshnessWindow.from_settings(Settings(max_signal_age_s=60, max_clock_skew_s=5))
    assert window is not None and (window.max_age_s, window.max_skew_s) == (60, 5)


def test_the_default_window_fits_in_the_dedup_window():
    assert window_fits_dedup(Settings())
    assert not window_fits_dedup(Settings(max_signal_age_s=300))
    assert not window_fits_dedup(Settings(max_signal_age_s=0))
