"""Reading the programs' log files: the last lines, new lines as they come, interleaved by time.

Each program has ``logs/<program>.log``: our Python programs write and rotate it themselves
(``telemetry/log_file.py``), supervisord captures the daemons' stdout and stderr into theirs.
Lines are JSON objects from structlog, or plain text from libraries and daemons.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

_TAIL_BLOCK = 64 * 1024


@dataclass(frozen=True)
class LogLine:
    service: str
    text: str
    record: dict[str, Any] | None  # the parsed JSON object, None for plain text

    @property
    def ts(self) -> str | None:
        value = self.record.get("ts") if self.record else None
        return value if isinstance(value, str) else None


def parse_json_line(text: str) -> dict[str, Any] | None:
    """The JSON object on this line, or None for anything else (plain text, arrays, garbage)."""
    stripped = text.strip()
    if not stripped.startswith("{"):
        return None
    try:
        value = orjson.loads(stripped)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def service_of(path: Path) -> str:
    """``logs/gateway.log`` and its rotated ``gateway.log.1`` both belong to ``gateway``."""
    name = path.name
    return name[: name.index(".log")] if ".log" in name else path.stem


def make_line(service: str, text: str) -> LogLine:
    record = parse_json_line(text)
    if record is not None and isinstance(record.get("service"), str):
        service = record["service"]
    return LogLine(service=service, text=text, record=record)


def log_files(log_dir: Path, include_rotated: bool = False) -> list[Path]:
    """The current log of every program (and, if asked, the rotated ones, oldest first)."""
    if not log_dir.is_dir():
        return []
    current = sorted(log_dir.glob("*.log"))
    if not include_rotated:
        return current
    rotated = sorted(log_dir.glob("*.log.[0-9]*"), key=lambda p: (service_of(p), -_rotation_index(p)))
    return rotated + current


def _rotation_index(path: Path) -> int:
    suffix = path.name.rsplit(".", 1)[-1]
    return int(suffix) if suffix.isdigit() else 0


def tail_lines(path: Path, n: int) -> list[str]:
    """The last ``n`` lines of a file without reading all of it (logs grow to 50 MB)."""
    if n <= 0:
        return []
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            position = handle.tell()
            data = b""
            while position > 0 and data.count(b"\n") <= n:
                step = min(_TAIL_BLOCK, position)
                position -= step
                handle.seek(position)
                data = handle.read(step) + data
    except FileNotFoundError:
        return []
    lines = data.decode(errors="replace").splitlines()
    return lines[-n:]


def _sort_key_filling_gaps(lines: list[LogLine]) -> list[tuple[str, int, LogLine]]:
    """Plain-text lines take the time of the JSON line before them, so they stay in place."""
    keyed = []
    last = ""
    for index, line in enumerate(lines):
        last = line.ts or last
        keyed.append((last, index, line))
    return keyed


def interleave(per_file: Iterable[list[LogLine]]) -> list[LogLine]:
    """Merge lines from several files by their ``ts`` (stable within a file)."""
    keyed = []
    for file_index, lines in enumerate(per_file):
        keyed += [(ts, file_index, index, line) for ts, index, line in _sort_key_filling_gaps(lines)]
    keyed.sort(key=lambda item: (item[0], item[1], item[2]))
    return [item[3] for item in keyed]


def last_lines(paths: Iterable[Path], n: int) -> list[LogLine]:
    """The last ``n`` lines over all ``paths``, interleaved by time."""
    per_file = [[make_line(service_of(path), text) for text in tail_lines(path, n)] for path in paths]
    return interleave(per_file)[-n:] if n > 0 else []


class LogFollower:
    """Returns the lines appended to a set of log files since the last call.

    Handles supervisord's rotation (file replaced: read the new one from the start) and
    lines still being written (kept until their newline arrives).
    """

    def __init__(self, files: Callable[[], list[Path]], from_start: bool = False):
        self._files = files
        self._from_start = from_start
        self._positions: dict[Path, tuple[int, int]] = {}  # path -> (inode, offset)
        self._partial: dict[Path, bytes] = {}
        self._primed = False

    def _prime(self) -> None:
        for path in self._files():
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            self._positions[path] = (stat.st_ino, 0 if self._from_start else stat.st_size)
        self._primed = True

    def read_new(self) -> list[LogLine]:
        if not self._primed:
            self._prime()
        per_file = []
        for path in self._files():
            chunk = self._read_file(path)
            if chunk:
                per_file.append([make_line(service_of(path), text) for text in chunk])
        return interleave(per_file)

    def _read_file(self, path: Path) -> list[str]:
        try:
            stat = path.stat()
        except FileNotFoundError:
            return []
        inode, offset = self._positions.get(path, (stat.st_ino, 0))
        if inode != stat.st_ino or stat.st_size < offset:
            offset = 0  # rotated or truncated
            self._partial.pop(path, None)
        if stat.st_size == offset:
            self._positions[path] = (stat.st_ino, offset)
            return []
        with path.open("rb") as handle:
            handle.seek(offset)
            data = self._partial.pop(path, b"") + handle.read()
            offset = handle.tell()
        self._positions[path] = (stat.st_ino, offset)
        complete, newline, rest = data.rpartition(b"\n")
        if rest:
            self._partial[path] = rest
        return complete.decode(errors="replace").splitlines() if newline else []


def follow(
    follower: LogFollower, interval: float, should_stop: Callable[[], bool], sleep: Callable[[float], None]
) -> Iterator[LogLine]:
    """Yield new lines until ``should_stop()``; ``sleep`` is injected so tests need not wait."""
    while not should_stop():
        yield from follower.read_new()
        sleep(interval)
