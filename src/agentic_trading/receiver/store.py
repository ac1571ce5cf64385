"""Every notification the receiver got, in memory and in a JSON-lines file that outlives restarts."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import IO

import orjson

from agentic_trading.receiver.payload import Notification, PayloadError
from agentic_trading.telemetry.logging import get_logger

log = get_logger(__name__)


class NotificationStore:
    """Append-only: one JSON line per alert, in the order received.

    Appends are small (a line per alert, a few alerts per call, a call every few seconds
    at most) and go to the page cache, so they are written from the event loop directly.
    """

    def __init__(self, path: Path):
        self.path = path
        self._notifications: list[Notification] = []
        self._file: IO[bytes] | None = None
        self._needs_newline = False

    def load(self) -> int:
        """Read what earlier runs received; returns how many. A line that cannot be read is logged and left out."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            return 0
        with self.path.open("rb") as lines:
            lines.seek(0, 2)
            if lines.tell() > 0:
                lines.seek(-1, 2)
                # After a crash mid-write, end the torn line so the next record starts on its own.
                self._needs_newline = lines.read(1) != b"\n"
            lines.seek(0)
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    self._notifications.append(Notification.from_json(orjson.loads(line)))
                except (orjson.JSONDecodeError, PayloadError) as exc:
                    # A crash can leave a half-written last line; everything before it still counts.
                    log.warning("notification_line_unreadable", path=str(self.path), line=number, error=str(exc))
        return len(self._notifications)

    def append(self, notifications: Iterable[Notification]) -> None:
        batch = list(notifications)
        if not batch:
            return
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("ab")
            if self._needs_newline:
                self._file.write(b"\n")
                self._needs_newline = False
        self._file.write(b"".join(orjson.dumps(n.to_json()) + b"\n" for n in batch))
        self._file.flush()
        self._notifications.extend(batch)

    def query(self, *, alertname: str | None = None, status: str | None = None, since: float | None = None) -> list[Notification]:
        """Notifications matching every filter given, oldest first; ``since`` compares with ``received_at``."""
        return [
            n
            for n in self._notifications
            if (alertname is None or n.alertname == alertname)
            and (status is None or n.status == status)
            and (since is None or n.received_at >= since)
        ]

    def __len__(self) -> int:
        return len(self._notifications)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
