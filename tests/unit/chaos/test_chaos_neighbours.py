"""The timeline of a concurrent run: who ran alongside whom, read by each child."""

from __future__ import annotations

import json
from pathlib import Path

from agentic_trading.chaos.experiment import Experiment
from agentic_trading.chaos.neighbours import Timeline, neighbours_of, parse_timeline


def _experiment(name: str, alert: str) -> Experiment:
    return Experiment(name, Path(f"{name}.yaml"), name, alert, "fault", document={}, touches=frozenset({name}))


def _line(event: str, name: str, at: float) -> str:
    return json.dumps({"event": event, "name": name, "at": at, "declared": [name.upper()], "touches": [name]})


def test_intervals_overlap_while_running_and_not_after_the_end():
    lines = [_line("start", "a", 10), _line("start", "b", 20), _line("end", "a", 30), '{"event": "end", "na']
    a, b = parse_timeline(lines)
    assert (a.started, a.ended, b.ended) == (10, 30, None)
    assert a.overlaps(25, 40) and not a.overlaps(31, 40)
    assert b.overlaps(100, 200)  # still running


def test_a_child_sees_the_others_that_ran_since_it_started_never_itself(tmp_path: Path):
    timeline = Timeline(tmp_path / "timeline.jsonl")
    timeline.started(_experiment("agent-down", "AgentDown"))
    timeline.started(_experiment("exporter-down", "TargetDown"))
    found = neighbours_of("agent-down", since=0, path=timeline.path)
    assert [(n.name, n.declared, n.touches) for n in found] == [("exporter-down", {"TargetDown"}, {"exporter-down"})]
    timeline.ended(_experiment("exporter-down", "TargetDown"))
    far_later = 10.0**10
    assert neighbours_of("agent-down", since=far_later, until=far_later + 1, path=timeline.path) == []


def test_outside_a_concurrent_run_there_is_no_neighbour(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("AT_CHAOS_NEIGHBOURS", raising=False)
    assert neighbours_of("agent-down", since=0) == []
