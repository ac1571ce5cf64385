"""Replay protection: a signal's own timestamp must fall inside a window around the gateway's clock.

Two mechanisms cover a replayed webhook together:

* inside the window, a replay has the same content (or ``Idempotency-Key``), hence the
  same ``signal_id``, and JetStream's deduplication stores it once: one decision;
* outside it, the timestamp is refused here (422 naming ``timestamp``).

That only closes the gap when the window fits in the deduplication window:
``max_age_s + max_skew_s <= dedup_window_s`` (defaults 90 + 30 <= 120). A payload without a
``timestamp`` is stamped with its receipt time and cannot be recognised as a replay: it is
accepted by default (TradingView alerts written by hand often lack one) and refused with
``AT_REQUIRE_TIMESTAMP=true``, which a public gateway should set.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agentic_trading.settings import Settings
from agentic_trading.signals import REASON_MISSING_FIELD, REASON_TIMESTAMP_OUT_OF_WINDOW, FieldError, parse_timestamp


class FreshnessWindow:
    """Accepts a timestamp no older than ``max_age_s`` and no further ahead than ``max_skew_s``."""

    def __init__(self, max_age_s: float, max_skew_s: float):
        if max_age_s <= 0:
            raise ValueError("max_age_s must be > 0 (a window of 0 means: no replay window)")
        self.max_age_s = max_age_s
        self.max_skew_s = max_skew_s

    @classmethod
    def from_settings(cls, settings: Settings) -> FreshnessWindow | None:
        """The configured window, or None when ``AT_MAX_SIGNAL_AGE_S`` is 0 (off)."""
        if settings.max_signal_age_s <= 0:
            return None
        return cls(settings.max_signal_age_s, settings.max_clock_skew_s)

    def check(self, timestamp: str, now: float) -> FieldError | None:
        """None when ``timestamp`` (ISO 8601, as ``Signal.timestamp``) is inside the window at ``now``."""
        age = now - datetime.fromisoformat(timestamp).timestamp()
        if age > self.max_age_s:
            return FieldError(
                "timestamp",
                f"{timestamp} is {age:.0f} s old; signals older than {self.max_age_s:g} s are refused as possible "
                "replays (AT_MAX_SIGNAL_AGE_S): send the alert's own time, e.g. TradingView's {{timenow}}",
                REASON_TIMESTAMP_OUT_OF_WINDOW,
            )
        if -age > self.max_skew_s:
            return FieldError(
                "timestamp",
                f"{timestamp} is {-age:.0f} s ahead of the gateway's clock; at most {self.max_skew_s:g} s is "
                "allowed (AT_MAX_CLOCK_SKEW_S): check the sender's clock",
                REASON_TIMESTAMP_OUT_OF_WINDOW,
            )
        return None


def window_fits_dedup(settings: Settings) -> bool:
    """Whether every replay the window lets through is still inside JetStream's dedup window."""
    if settings.max_signal_age_s <= 0:
        return False
    return settings.max_signal_age_s + settings.max_clock_skew_s <= settings.dedup_window_s


def timestamp_problems(payload: Any, now: float, window: FreshnessWindow | None, *, require: bool) -> list[FieldError]:
    """What is wrong with the payload's ``timestamp`` beyond its syntax (which validation reports).

    A missing timestamp is a problem only when ``require`` (``AT_REQUIRE_TIMESTAMP``); a readable
    one is checked against the replay window even when other fields are wrong, so one 422 names
    every problem.
    """
    if not isinstance(payload, dict):
        return []
    value = payload.get("timestamp")
    if value is None:
        if not require:
            return []
        return [
            FieldError(
                "timestamp",
                "is required (AT_REQUIRE_TIMESTAMP): without it a replay cannot be recognised; "
                "send the alert's own time, e.g. TradingView's {{timenow}}",
                REASON_MISSING_FIELD,
            )
        ]
    normalised = parse_timestamp(value, [])  # syntax errors are validation's to report
    if normalised is None or window is None:
        return []
    stale = window.check(normalised, now)
    return [stale] if stale is not None else []
