"""Experiments running side by side: a timeline file the parent writes and each child reads.

``atctl chaos run --concurrency N`` runs each experiment in a child process of its own (chaoslib
installs signal handlers, which only a main thread may do, and keeps module state). The parent
appends one JSON line per start and end to a timeline file and names it to every child in
``AT_CHAOS_NEIGHBOURS``. A child reads it to learn which experiments ran at the same time as
its own, so that it tolerates exactly *their* declared alerts (and their stopped programs in
its health checks), and says so in its result. Outside a concurrent run there is no file and no
neighbour.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from agentic_trading.chaos.experiment import Experiment

ENV = "AT_CHAOS_NEIGHBOURS"


@dataclass(frozen=True)
class Neighbour:
    """One experiment of a concurrent run, as the timeline records it."""

    name: str
    declared: frozenset[str]  # the alerts its fault may notify
    touches: frozenset[str]  # programs and shared things its fault acts on
    started: float
    ended: float | None = None  # None: still running

    def overlaps(self, since: float, until: float) -> bool:
        return self.started <= until and (self.ended is None or self.ended >= since)


class Timeline:
    """The parent's side: record starts and ends (one JSON line each, appended whole)."""

    def __init__(self, path: Path):
        self.path = path
        path.write_text("")

    def started(self, experiment: Experiment) -> None:
        self._append(
            {
                "event": "start",
                "name": experiment.name,
                "declared": sorted(experiment.declared),
                "touches": sorted(experiment.touches),
            }
        )

    def ended(self, experiment: Experiment) -> None:
        self._append({"event": "end", "name": experiment.name})

    def _append(self, record: dict[str, object]) -> None:
        with self.path.open("a") as file:
            file.write(json.dumps({**record, "at": time.time()}) + "\n")


def parse_timeline(lines: Iterable[str]) -> list[Neighbour]:
    """Every experiment in the timeline with its interval (a line cut short by a concurrent write is skipped)."""
    starts: dict[str, dict[str, object]] = {}
    ends: dict[str, float] = {}
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("event") == "start":
            starts[record["name"]] = record
        elif record.get("event") == "end":
            ends[record["name"]] = float(record["at"])
    return [
        Neighbour(
            name=name,
            declared=frozenset(record["declared"]),  # type: ignore[arg-type]
            touches=frozenset(record["touches"]),  # type: ignore[arg-type]
            started=float(record["at"]),  # type: ignore[arg-type]
            ended=ends.get(name),
        )
        for name, record in starts.items()
    ]


def neighbours_of(name: str, since: float, until: float | None = None, path: Path | None = None) -> list[Neighbour]:
    """The other experiments of this concurrent run that ran at some time between ``since`` and ``until``."""
    where = path if path is not None else _path_from_env()
    if where is None or not where.is_file():
        return []
    stop = until if until is not None else time.time()
    return [n for n in parse_timeline(where.read_text().splitlines()) if n.name != name and n.overlaps(since, stop)]


def _path_from_env() -> Path | None:
    value = os.environ.get(ENV)
    return Path(value) if value else None
