"""Prometheus durations (``90s``, ``1h30m``, ``900ms``): the one place they are parsed and written."""

from __future__ import annotations

import re

from agentic_trading.observability.errors import ObservabilityError

UNITS: dict[str, float] = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_PART = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_DURATION = re.compile(r"^(?:\d+(?:ms|s|m|h|d|w|y))+$")


def is_duration(text: object) -> bool:
    return isinstance(text, str) and bool(_DURATION.match(text.strip()))


def parse_duration(text: object) -> float:
    """Seconds in a Prometheus duration; :class:`ObservabilityError` names the expected form."""
    value = str(text).strip()
    if not _DURATION.match(value):
        raise ObservabilityError(f"{text!r} is not a Prometheus duration: write e.g. 30s, 5m or 1h30m")
    return sum(int(n) * UNITS[unit] for n, unit in _PART.findall(value))


def format_duration(seconds: float) -> str:
    """The shortest Prometheus duration for whole seconds (milliseconds under 1 s or fractional)."""
    if seconds < 0:
        raise ValueError(f"negative duration: {seconds}")
    if seconds == 0:
        return "0s"
    if seconds < 1 or seconds != int(seconds):
        return f"{round(seconds * 1000)}ms"
    whole = int(seconds)
    parts = []
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if whole >= size:
            parts.append(f"{whole // size}{unit}")
            whole %= size
    return "".join(parts)


def format_age(seconds: int) -> str:
    """A rounded age for people, two units at most: ``5s``, ``2m05s``, ``2h01m``, ``1d01h``.

    ``atctl status`` shows uptimes with it, ``atctl alerts`` how long an alert has fired.
    """
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"
