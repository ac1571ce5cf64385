"""The lines of a JSON log file written between two times, found by bisection, not by a scan.

Each service appends lines in time order, so the byte offset of the first line at or after
a time can be found by probing O(log size) positions. ``atctl trace`` reads only the few
seconds around one signal, whatever the size of the logs (they grow to 50 MB per program).
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path

from agentic_trading.stack.trace import parse_ts

# Probes read this much; below it the rest is read linearly.
_PROBE_BYTES = 16 * 1024
_TS_RE = re.compile(rb'"ts":\s*"([^"]+)"')


def line_time(line: bytes) -> datetime | None:
    """The ``ts`` of a structlog JSON line (found without parsing the whole object)."""
    match = _TS_RE.search(line)
    return parse_ts(match.group(1).decode(errors="replace")) if match else None


def _first_time_after(handle, offset: int, size: int) -> datetime | None:  # noqa: ANN001 - a binary file
    """The time of the first complete timestamped line starting after ``offset``."""
    handle.seek(offset)
    if offset > 0:
        handle.readline()  # the rest of a line cut by the probe
    while handle.tell() < size:
        when = line_time(handle.readline())
        if when is not None:
            return when
    return None


def offset_of(path: Path, start: datetime) -> int:
    """The byte offset of a line boundary at or before the first line timestamped ``start`` or later."""
    with path.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        low, high = 0, size  # invariant: the first line at or after ``start`` begins after ``low``
        while high - low > _PROBE_BYTES:
            middle = (low + high) // 2
            when = _first_time_after(handle, middle, high)
            if when is not None and when < start:
                low = middle
            else:
                high = middle
        return low


def lines_between(path: Path, start: datetime, end: datetime, max_bytes: int | None = None) -> list[str]:
    """Lines of ``path`` timestamped from ``start`` to ``end``, and untimed lines that follow one of them.

    ``max_bytes``: read at most this much from the end of the file (a bound on a search whose
    start is far back).
    """
    try:
        begin = offset_of(path, start)
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if max_bytes is not None:
                begin = max(begin, size - max_bytes)
            handle.seek(begin)
            if begin > 0:
                handle.readline()
            found: list[str] = []
            inside = False  # an untimed line belongs to the window once a timed one has opened it
            for raw in handle:
                when = line_time(raw)
                if when is not None:
                    if when > end:
                        break
                    inside = when >= start
                if inside:
                    found.append(raw.decode(errors="replace").rstrip("\n"))
            return found
    except FileNotFoundError:
        return []


def is_json_log(path: Path) -> bool:
    """True when the file's last lines carry structlog timestamps (the services', not the daemons')."""
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            handle.seek(max(0, size - _PROBE_BYTES))
            return any(line_time(line) is not None for line in handle.read().splitlines())
    except FileNotFoundError:
        return False
