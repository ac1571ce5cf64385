"""Reading logs: the last lines cheaply, new lines as they come, several files by time."""

from __future__ import annotations

import json
from pathlib import Path

from agentic_trading.stack.logs import LogFollower, last_lines, log_files, service_of, tail_lines


def _json(ts: str, service: str, event: str) -> str:
    return json.dumps({"ts": ts, "service": service, "event": event})


def test_tail_lines_reads_the_end_of_a_big_file(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    path.write_text("".join(f"line {i}\n" for i in range(100_000)))
    assert tail_lines(path, 3) == ["line 99997", "line 99998", "line 99999"]
    assert tail_lines(tmp_path / "missing.log", 3) == []


def test_last_lines_interleave_services_by_time(tmp_path: Path) -> None:
    gateway = [
        _json("2026-01-01T00:00:01Z", "gateway", "a"),
        "plain text after a",
        _json("2026-01-01T00:00:03Z", "gateway", "c"),
    ]
    (tmp_path / "gateway.log").write_text("\n".join(gateway) + "\n")
    (tmp_path / "orchestrator.log").write_text(_json("2026-01-01T00:00:02Z", "orchestrator", "b") + "\n")
    lines = last_lines(log_files(tmp_path), 10)
    assert [line.text if line.record is None else line.record["event"] for line in lines] == [
        "a",
        "plain text after a",
        "b",
        "c",
    ]
    assert [line.service for line in lines] == ["gateway", "gateway", "orchestrator", "gateway"]
    assert len(last_lines(log_files(tmp_path), 2)) == 2


def test_follower_returns_only_new_complete_lines(tmp_path: Path) -> None:
    path = tmp_path / "redis.log"
    path.write_text("old\n")
    follower = LogFollower(lambda: [path])
    assert follower.read_new() == []
    with path.open("a") as handle:
        handle.write("new 1\nnew 2 half")
    assert [line.text for line in follower.read_new()] == ["new 1"]
    with path.open("a") as handle:
        handle.write(" done\n")
    assert [line.text for line in follower.read_new()] == ["new 2 half done"]


def test_follower_starts_over_after_rotation(tmp_path: Path) -> None:
    path = tmp_path / "nats.log"
    path.write_text("before rotation, a long line\n")
    follower = LogFollower(lambda: [path])
    follower.read_new()
    path.rename(tmp_path / "nats.log.1")
    path.write_text("fresh\n")
    assert [line.text for line in follower.read_new()] == ["fresh"]


def test_rotated_files_belong_to_their_service(tmp_path: Path) -> None:
    assert service_of(Path("logs/agent-risk.log.2")) == "agent-risk"
    (tmp_path / "a.log").write_text("")
    (tmp_path / "a.log.1").write_text("")
    (tmp_path / "a.log.2").write_text("")
    assert [p.name for p in log_files(tmp_path, include_rotated=True)] == ["a.log.2", "a.log.1", "a.log"]
    assert [p.name for p in log_files(tmp_path)] == ["a.log"]
