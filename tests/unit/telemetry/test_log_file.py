"""A program's own log file (telemetry/log_file.py): buffered, written within 100 ms, kept at exit, rotated.

The lines are what ``atctl logs`` and ``atctl trace`` read, so every test reads the file back.
The flush thread and the redirected stdout/stderr are process-wide, so they are tested in
child processes (a real service for SIGTERM), the buffer and the rotation in-process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import orjson

from _support import eventually, free_port, stop_process
from agentic_trading.telemetry.log_file import LogFile


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines() if path.exists() else []


def _all_lines(path: Path) -> list[bytes]:
    """The current file and its rotated copies, oldest first."""
    rotated = sorted(path.parent.glob(path.name + ".*"), key=lambda p: -int(p.name.rsplit(".", 1)[1]))
    return [line for file in [*rotated, path] for line in _lines(file)]


def test_a_write_costs_no_system_call_until_the_flush(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    log_file = LogFile(path)
    log_file.write(b'{"event":"a"}\n')
    log_file.write(b'{"event":"b"}\n')
    assert path.read_bytes() == b""  # queued in memory
    log_file.flush()
    assert _lines(path) == [b'{"event":"a"}', b'{"event":"b"}']
    log_file.close()


def test_a_burst_over_the_flush_size_is_written_at_once(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    log_file = LogFile(path, flush_bytes=1000)
    line = b"x" * 99 + b"\n"
    for _ in range(9):
        log_file.write(line)
    assert path.read_bytes() == b""
    log_file.write(line)  # the 1,000th byte
    assert len(_lines(path)) == 10
    log_file.close()


def test_rotation_keeps_the_newest_lines_in_backups_of_bounded_size(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    log_file = LogFile(path, max_bytes=1000, backups=2)
    written = [b"%05d" % i + b"." * 94 for i in range(45)]  # 100 bytes a line
    for line in written:
        log_file.write(line + b"\n")
        log_file.flush()
    log_file.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.log", "x.log.1", "x.log.2"]
    assert all(p.stat().st_size <= 1000 for p in tmp_path.iterdir())
    kept = _all_lines(path)
    assert kept == written[-len(kept) :] and len(kept) >= 25  # the newest, in order; the oldest dropped


def test_two_processes_sharing_a_file_rotate_it_once_and_lose_no_line(tmp_path: Path) -> None:
    # Two gateway workers (AT_GATEWAY_WORKERS=2) append to one file; both see it over the bound.
    path = tmp_path / "gateway.log"
    first, second = LogFile(path, max_bytes=2000, backups=20), LogFile(path, max_bytes=2000, backups=20)
    written = []
    for i in range(100):
        for name, log_file in (("a", first), ("b", second)):
            line = f"{name}{i:04d}".encode() + b"." * 44
            written.append(line)
            log_file.write(line + b"\n")
            log_file.flush()
    first.close()
    second.close()
    kept = _all_lines(path)
    assert sorted(kept) == sorted(written)  # every line once: no rotation moved another's fresh file away
    assert all(p.stat().st_size <= 2000 + 50 for p in tmp_path.iterdir())


CHILD = textwrap.dedent(
    """
    import sys
    from agentic_trading.telemetry.logging import configure_logging, get_logger

    configure_logging("child")
    get_logger().info("structlog_line", n=1)
    get_logger().info("queued_line", n=2)
    print("plain print", flush=True)
    if sys.argv[1] == "wait":
        sys.stdin.readline()  # the test saw the first lines
        get_logger().info("after_a_quiet_while")
        sys.stdin.read()  # until the test closes the pipe
    elif sys.argv[1] == "crash":
        raise RuntimeError("boom")
    """
)


def _child(tmp_path: Path, mode: str) -> tuple[subprocess.Popen[bytes], Path]:
    path = tmp_path / "logs" / "child.log"
    env = {**os.environ, "AT_LOG_FILE": str(path)}
    process = subprocess.Popen(
        [sys.executable, "-c", CHILD, mode], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    return process, path


def test_lines_reach_the_file_within_the_flush_interval_while_the_program_runs(tmp_path: Path) -> None:
    process, path = _child(tmp_path, "wait")
    try:
        found, waited = eventually(
            lambda: (lines := _lines(path)) and len(lines) >= 3 and lines,
            timeout_s=15,
            interval_s=0.02,
            what="three lines in the child's log file while it runs",
        )
        records = [orjson.loads(line) for line in found if line.startswith(b"{")]
        assert [r["event"] for r in records] == ["structlog_line", "queued_line"]
        assert all(r["service"] == "child" for r in records)
        assert b"plain print" in found  # stdout goes to the same file, not through a pipe
        # The flush thread slept once the queue was empty; a new line wakes it again.
        assert process.stdin is not None
        process.stdin.write(b"more\n")
        process.stdin.flush()
        eventually(
            lambda: any(b"after_a_quiet_while" in line for line in _lines(path)),
            timeout_s=15,
            interval_s=0.02,
            what="a line logged after a quiet while, in the file while the child runs",
        )
    finally:
        assert process.stdin is not None
        process.stdin.close()
        assert process.wait(timeout=15) == 0
    # Nothing was written to the pipes supervisord would read.
    assert process.stdout is not None and process.stdout.read() == b""


def test_a_crash_writes_its_traceback_after_the_queued_lines(tmp_path: Path) -> None:
    process, path = _child(tmp_path, "crash")
    process.communicate(timeout=15)
    assert process.returncode == 1
    text = path.read_text()
    assert "structlog_line" in text and "queued_line" in text  # flushed at exit
    assert "RuntimeError: boom" in text


def test_a_service_stopped_by_sigterm_keeps_its_last_line(tmp_path: Path) -> None:
    # The receiver serves until SIGTERM and logs `service_stopped` on the way out, the last
    # thing before the interpreter exits: it must be in the file (timer or exit flush; the
    # crash test above has no time for the timer).
    path = tmp_path / "logs" / "receiver.log"
    port = free_port()
    env = {
        **os.environ,
        "AT_LOG_FILE": str(path),
        "AT_STATE_DIR": str(tmp_path / "state"),
        "AT_RECEIVER_PORT": str(port),
        "AT_PORT_OFFSET": "0",
    }
    process = subprocess.Popen([sys.executable, "-m", "agentic_trading.receiver"], env=env, cwd=tmp_path)
    try:
        eventually(
            lambda: any(b"service_started" in line for line in _lines(path)),
            timeout_s=30,
            interval_s=0.05,
            what="the receiver's service_started line in its log file",
        )
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        stop_process(process)
    events = [orjson.loads(line).get("event") for line in _lines(path) if line.startswith(b"{")]
    assert events[-1] == "service_stopped", events[-5:]
