"""The dead man's switch watcher: notice when the Watchdog notification stops arriving.

The Watchdog alert fires always, and Alertmanager re-sends it every ``repeat_interval``
of its route. When it stops arriving, Prometheus, Alertmanager or the path between them
is broken, and no other alert can reach anyone either. So the receiver, which sits at
the end of that path, watches the gaps itself and says so without Alertmanager: its own
metric (``receiver_watchdog_missing``), a log line (``watchdog_missing``) and
``GET /watchdog``, which ``atctl alerts`` shows.

Pure state, no clock of its own: the caller passes the time. The expected interval is
learned from the gaps between recent Watchdog notifications (their median), so the
same receiver works with the fast profile's seconds and production's minute;
before two notifications have arrived it is ``default_interval_s``.
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass, field
from typing import Any

WATCHDOG = "Watchdog"
# Missing after this many expected intervals without a Watchdog notification.
MISSING_AFTER_INTERVALS = 3.0
# Gaps shorter than this are one burst (a new group, a Prometheus restart), not the pace.
MIN_GAP_S = 1.0
_KEPT_GAPS = 5


@dataclass
class WatchdogWatch:
    """When the Watchdog last arrived, how often it should, and whether it is overdue."""

    started_at: float
    default_interval_s: float = 60.0
    missing_after: float = MISSING_AFTER_INTERVALS
    last_received_at: float | None = None
    missing: bool = False
    _gaps: deque[float] = field(default_factory=lambda: deque(maxlen=_KEPT_GAPS))

    def received(self, at: float) -> bool:
        """A Watchdog notification arrived at ``at``; True when it had been missing (it is back)."""
        if self.last_received_at is not None and at - self.last_received_at >= MIN_GAP_S:
            gap = at - self.last_received_at
            # An outage's gap is not the pace: learn only gaps within the current deadline.
            if not self.missing:
                self._gaps.append(gap)
        self.last_received_at = at
        was_missing, self.missing = self.missing, False
        return was_missing

    def interval_s(self) -> float:
        """The expected gap between two Watchdog notifications."""
        return statistics.median(self._gaps) if self._gaps else self.default_interval_s

    def deadline(self) -> float:
        """The time after which the Watchdog counts as missing."""
        since = self.last_received_at if self.last_received_at is not None else self.started_at
        return since + self.missing_after * self.interval_s()

    def check(self, now: float) -> bool:
        """Update ``missing``; True exactly when it has just become missing (log it once)."""
        overdue = now > self.deadline()
        became_missing = overdue and not self.missing
        self.missing = overdue
        return became_missing

    def status(self, now: float) -> dict[str, Any]:
        """What ``GET /watchdog`` answers."""
        since = self.last_received_at if self.last_received_at is not None else self.started_at
        return {
            "state": "missing" if self.missing else ("ok" if self.last_received_at is not None else "waiting"),
            "last_received_at": self.last_received_at,
            "silent_for_s": round(now - since, 3),
            "expected_interval_s": round(self.interval_s(), 3),
            "missing_after_s": round(self.missing_after * self.interval_s(), 3),
        }
