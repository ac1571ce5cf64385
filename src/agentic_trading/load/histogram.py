"""Latency histograms: HDR histograms in microseconds, read back in milliseconds.

An HDR histogram keeps every recorded value to within 1 % (two significant digits,
a relative resolution of 1/128) at a fixed memory cost, whatever the number of
requests, and two of them merge exactly: so worker processes each keep their own and
the parent adds them up. :class:`Timeline` keeps one small histogram per second of a
run, for the per-second p99 that shows *when* latency went wrong.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

LOWEST_US = 1
# Anything slower than an hour is clamped to an hour (the histogram refuses larger values).
HIGHEST_US = 3_600_000_000
SIGNIFICANT_DIGITS = 2


class LatencyHistogram:
    """Latencies of one run (or one second of it), exact max and count, percentiles within 1 %."""

    __slots__ = ("_hdr", "_max_us", "_min_us")

    def __init__(self) -> None:
        self._hdr = HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)
        self._max_us = 0
        self._min_us = 0

    def record_seconds(self, seconds: float) -> None:
        self.record_us(round(seconds * 1_000_000))

    def record_us(self, micros: int) -> None:
        value = min(max(int(micros), LOWEST_US), HIGHEST_US)
        self._hdr.record_value(value)
        if value > self._max_us:
            self._max_us = value
        if self._min_us == 0 or value < self._min_us:
            self._min_us = value

    @property
    def count(self) -> int:
        return int(self._hdr.get_total_count())

    def percentile_us(self, percentile: float) -> int | None:
        """The value below or at which ``percentile`` % of recordings fall (``None`` when empty)."""
        if not 0 <= percentile <= 100:
            raise ValueError(f"percentile must be between 0 and 100, not {percentile}")
        if self.count == 0:
            return None
        if percentile >= 100:
            return self._max_us
        # HDR reports the top of the value's bucket; never beyond what was really seen.
        return min(int(self._hdr.get_value_at_percentile(percentile)), self._max_us)

    def percentile_ms(self, percentile: float) -> float | None:
        value = self.percentile_us(percentile)
        return None if value is None else value / 1000.0

    @property
    def max_ms(self) -> float | None:
        return self._max_us / 1000.0 if self.count else None

    @property
    def min_ms(self) -> float | None:
        return self._min_us / 1000.0 if self.count else None

    @property
    def mean_ms(self) -> float | None:
        return float(self._hdr.get_mean_value()) / 1000.0 if self.count else None

    def merge(self, other: LatencyHistogram) -> None:
        """Add every recording of ``other`` to this histogram (exact)."""
        if other.count == 0:
            return
        self._hdr.add(other._hdr)
        self._max_us = max(self._max_us, other._max_us)
        self._min_us = other._min_us if self._min_us == 0 else min(self._min_us, other._min_us)

    def encode(self) -> dict[str, Any]:
        """A picklable, JSON-able form for sending a histogram between processes."""
        payload = self._hdr.encode() if self.count else b""
        return {
            "hdr": payload.decode("ascii") if isinstance(payload, bytes) else payload,
            "max_us": self._max_us,
            "min_us": self._min_us,
        }

    @classmethod
    def decode(cls, data: dict[str, Any]) -> LatencyHistogram:
        histogram = cls()
        if data["hdr"]:
            histogram._hdr.decode_and_add(data["hdr"])
        histogram._max_us = int(data["max_us"])
        histogram._min_us = int(data["min_us"])
        return histogram


@dataclass
class SecondStats:
    """What happened to the requests of one second of a run."""

    requests: int = 0
    errors: int = 0
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)


class Timeline:
    """Per-second requests, errors and latency; second 0 is the run's start.

    A request belongs to the second it was meant to be sent in (open model) or was
    sent in (closed model), so a stall shows in the seconds whose requests it delayed.
    """

    def __init__(self) -> None:
        self.seconds: dict[int, SecondStats] = {}

    def _at(self, second: int) -> SecondStats:
        stats = self.seconds.get(second)
        if stats is None:
            stats = self.seconds[second] = SecondStats()
        return stats

    def record(self, second: int, latency_s: float | None, error: bool) -> None:
        stats = self._at(second)
        stats.requests += 1
        if error:
            stats.errors += 1
        if latency_s is not None:
            stats.latency.record_seconds(latency_s)

    def merge(self, other: Timeline) -> None:
        for second, theirs in other.seconds.items():
            ours = self._at(second)
            ours.requests += theirs.requests
            ours.errors += theirs.errors
            ours.latency.merge(theirs.latency)

    def rows(self) -> list[dict[str, Any]]:
        """One row per second from 0 to the last, seconds without requests included."""
        if not self.seconds:
            return []
        rows = []
        for second in range(0, max(self.seconds) + 1):
            stats = self.seconds.get(second) or SecondStats()
            p99 = stats.latency.percentile_ms(99)
            rows.append(
                {
                    "second": second,
                    "requests": stats.requests,
                    "errors": stats.errors,
                    "p99_ms": None if p99 is None else round(p99, 3),
                }
            )
        return rows

    def encode(self) -> dict[str, Any]:
        return {
            str(second): {"requests": s.requests, "errors": s.errors, "latency": s.latency.encode()}
            for second, s in self.seconds.items()
        }

    @classmethod
    def decode(cls, data: dict[str, Any]) -> Timeline:
        timeline = cls()
        for second, s in data.items():
            timeline.seconds[int(second)] = SecondStats(
                requests=int(s["requests"]), errors=int(s["errors"]), latency=LatencyHistogram.decode(s["latency"])
            )
        return timeline


def exact_percentile(values: list[float], percentile: float) -> float:
    """Nearest-rank percentile of raw values: the reference the histogram is tested against."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(percentile / 100.0 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]
