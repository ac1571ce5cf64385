"""Bisection finds the lines of a time window in a large log without reading all of it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agentic_trading.stack import log_window
from agentic_trading.stack.log_window import is_json_log, lines_between, offset_of

T0 = datetime(2026, 1, 1, 10, 0, 0, tzinfo=UTC)


def _write(path: Path, count: int) -> None:
    with path.open("w") as handle:
        for i in range(count):
            ts = (T0 + timedelta(milliseconds=10 * i)).isoformat().replace("+00:00", "Z")
            handle.write(json.dumps({"event": "tick", "i": i, "padding": "x" * 60, "ts": ts}) + "\n")
            if i % 100 == 0:
                handle.write("INFO: a plain line from a library\n")


def test_the_window_holds_exactly_the_lines_between_the_times(tmp_path):
    log = tmp_path / "svc.log"
    _write(log, 20_000)  # ~2.4 MB
    lines = lines_between(log, T0 + timedelta(seconds=100), T0 + timedelta(seconds=100.5))
    ticks = [json.loads(line)["i"] for line in lines if line.startswith("{")]
    assert ticks == list(range(10_000, 10_051))


def test_bisection_reads_a_few_probes_not_the_file(tmp_path, monkeypatch):
    log = tmp_path / "svc.log"
    _write(log, 20_000)
    probes = []
    real = log_window._first_time_after
    monkeypatch.setattr(log_window, "_first_time_after", lambda h, o, s: probes.append(o) or real(h, o, s))
    offset = offset_of(log, T0 + timedelta(seconds=150))
    assert len(probes) <= 10
    assert 0 < offset < log.stat().st_size


def test_a_bound_in_bytes_limits_a_search_from_far_back(tmp_path):
    log = tmp_path / "svc.log"
    _write(log, 5_000)
    everything = lines_between(log, T0, T0 + timedelta(hours=1))
    tail = lines_between(log, T0, T0 + timedelta(hours=1), max_bytes=10_000)
    assert len(everything) > 5_000 and 0 < len(tail) < 150
    assert tail[-1] == everything[-1]


def test_daemon_logs_without_timestamps_are_not_json_logs(tmp_path):
    (tmp_path / "nats.log").write_text("[1] 2026/01/01 10:00:00.000 [INF] Server is ready\n")
    _write(tmp_path / "gateway.log", 3)
    assert not is_json_log(tmp_path / "nats.log") and is_json_log(tmp_path / "gateway.log")
    assert lines_between(tmp_path / "missing.log", T0, T0) == []
