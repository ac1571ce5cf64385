"""A program's own log file: lines buffered in memory, written together within 100 ms.

Under ``atctl up`` every Python program used to print its JSON lines to stdout, and
supervisord read each flushed batch from the pipe and wrote it to ``logs/<program>.log``:
two processes woken per line, about 1.0 ms of CPU per signal when signals come one at a
time, and one ``write`` plus ``flush`` per accepted webhook in the gateway
(``docs/benchmarks.md``, "Log lines written by the programs"). With ``AT_LOG_FILE`` set
(``stack/render.py`` sets it for our programs), :func:`open_log_file` instead:

* appends every line to an in-memory queue (no system call on the hot path);
* writes the queue with one ``write`` from a daemon thread :data:`FLUSH_INTERVAL_S` after its
  first line (the thread sleeps while nothing is queued), at once when it holds
  :data:`FLUSH_BYTES`, and at interpreter exit (SIGTERM is a graceful
  exit for every service), so a SIGKILL loses at most the last 100 ms of *log lines*, never a
  signal, and never the line of a signal already acknowledged or answered (``SignalLines``
  writes those at once, before the ack or the 200);
* points the process's stdout and stderr (file descriptors 1 and 2) at the same file, so a
  traceback, a warning of a library or a crash lands beside the JSON lines without going
  through supervisord (which still captures what is printed before this runs);
* rotates at :data:`MAX_BYTES` into ``.1`` and ``.2`` like supervisord did (same names, so
  ``atctl logs`` and ``atctl trace`` read them unchanged). Several processes may share one
  file (``AT_GATEWAY_WORKERS``): rotation holds an ``flock`` on the file and re-checks that no
  other process rotated it first.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import threading
from collections import deque
from pathlib import Path

ENV_VAR = "AT_LOG_FILE"
FLUSH_INTERVAL_S = 0.1
FLUSH_BYTES = 256 * 1024
MAX_BYTES = 50 * 1024 * 1024  # supervisord's "50MB", which rotated these files before
BACKUPS = 2


class LogFile:
    """Append-only, buffered, size-bounded log file shared by the threads of one process.

    ``write`` only appends to a ``deque`` (thread-safe without a lock, so it never waits
    for a flush in progress); :meth:`flush` is serialised by a lock and owns the file.
    """

    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int = MAX_BYTES,
        backups: int = BACKUPS,
        flush_bytes: int = FLUSH_BYTES,
        redirect_output: bool = False,
    ):
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups
        self.flush_bytes = flush_bytes
        self.redirect_output = redirect_output
        self._pending: deque[bytes] = deque()
        self._pending_bytes = 0
        self._lock = threading.Lock()
        self.queued = threading.Event()  # set while lines wait: the flush thread sleeps otherwise
        self._fd = -1
        self._open()

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        if self.redirect_output:
            os.dup2(fd, 1)
            os.dup2(fd, 2)
        old, self._fd = self._fd, fd
        if old >= 0:
            os.close(old)

    def write(self, data: bytes) -> None:
        """Queue ``data`` (whole lines); written within the flush interval."""
        self._pending.append(data)
        self._pending_bytes += len(data)  # approximate across threads: it only decides an early flush
        if not self.queued.is_set():
            self.queued.set()
        if self._pending_bytes >= self.flush_bytes:
            self.flush()

    def flush(self) -> None:
        """Write everything queued with one system call, then rotate if the file is over its bound."""
        with self._lock:
            self.queued.clear()  # before taking the lines: one queued after this sets it again
            if not self._pending:
                return
            parts = []
            pending = self._pending
            while pending:
                parts.append(pending.popleft())
            self._pending_bytes = 0
            data = b"".join(parts)
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            if os.fstat(self._fd).st_size >= self.max_bytes:
                self._rotate()

    def _rotate(self) -> None:
        """Shift ``x.log`` to ``x.log.1`` (and ``.1`` to ``.2``…), unless another process just did."""
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            try:
                current = os.stat(self.path)
            except FileNotFoundError:
                current = None
            mine = os.fstat(self._fd)
            if current is not None and current.st_ino == mine.st_ino and mine.st_size >= self.max_bytes:
                for index in range(self.backups - 1, 0, -1):
                    older = self.path.with_name(f"{self.path.name}.{index}")
                    if older.exists():
                        older.replace(self.path.with_name(f"{self.path.name}.{index + 1}"))
                if self.backups > 0:
                    self.path.replace(self.path.with_name(f"{self.path.name}.1"))
                else:
                    self.path.unlink()
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._open()

    def close(self) -> None:
        self.flush()
        with self._lock:
            if self._fd >= 0 and not self.redirect_output:
                os.close(self._fd)
                self._fd = -1


def _flush_soon(log_file: LogFile, interval_s: float, stop: threading.Event) -> None:
    """Sleep until a line is queued, let ``interval_s`` gather more, write them all; no wake-ups while idle.

    The agents and the orchestrator write their per-signal lines themselves (before each
    ack), so under steady traffic this thread mostly finds nothing to do.
    """
    while True:
        log_file.queued.wait()
        if stop.wait(interval_s):
            return
        log_file.flush()


def open_log_file(path: Path, *, interval_s: float = FLUSH_INTERVAL_S) -> LogFile:
    """The process's log file, flushed by a daemon thread within ``interval_s`` of a line, and at exit."""
    log_file = LogFile(path, redirect_output=True)
    stop = threading.Event()
    thread = threading.Thread(target=_flush_soon, args=(log_file, interval_s, stop), name="log-file-flush", daemon=True)
    thread.start()

    def _at_exit() -> None:
        stop.set()
        log_file.flush()

    atexit.register(_at_exit)
    return log_file
