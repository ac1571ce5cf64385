"""Run experiments side by side: each in a child ``atctl chaos run NAME`` process, never two that interact.

Why processes, not threads: chaoslib installs signal handlers while it runs an experiment
(``chaoslib.exit.exit_signals``: SIGTERM, SIGUSR1, SIGUSR2), which Python allows in the main
thread only, and the providers find their experiment through one module-level session. A child
process per experiment keeps both as they are, and keeps each experiment's rollbacks its own.

The parent picks the next experiment with :func:`~agentic_trading.chaos.schedule.next_to_start`,
records every start and end in a timeline file the children read
(:mod:`~agentic_trading.chaos.neighbours`), relays each child's progress line by line, and
reads each child's JSON report. Ctrl-C: the children run in sessions of their own (a terminal's
Ctrl-C reaches the parent only), so the parent sends each running child exactly one SIGINT,
starts nothing more, and waits until every child has rolled back.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from agentic_trading.chaos import partition
from agentic_trading.chaos.experiment import Experiment
from agentic_trading.chaos.neighbours import ENV, Timeline
from agentic_trading.chaos.runner import ExperimentResult, run_one, sigint_ignored
from agentic_trading.chaos.schedule import next_to_start, start_order
from agentic_trading.stack import Stack

TIMELINE_FILE = "chaos-timeline.jsonl"
POLL_S = 0.2
CHILD_COMMAND = "from agentic_trading.cli.main import app; app()"
# name, message: a child's progress line, or the parent's own ("started", "passed in 31 s", …)
LaneProgress = Callable[[str, str], None]


@dataclass
class _Child:
    experiment: Experiment
    process: subprocess.Popen[str]
    stdout: list[str] = field(default_factory=list)
    tail: list[str] = field(default_factory=list)  # the last progress lines, for a child that dies
    readers: list[threading.Thread] = field(default_factory=list)


def run_concurrently(
    stack: Stack,
    experiments: list[Experiment],
    capacity: int,
    experiments_dir: Path | None,
    progress: LaneProgress,
) -> list[ExperimentResult]:
    """Run ``experiments``, at most ``capacity`` at a time and never two that interact; results in the order they end."""
    results: list[ExperimentResult] = [run_one(stack, e) for e in experiments if e.exception]
    stale = partition.remove_leftovers(f"{stack.settings.port_offset}-")  # once, before any child starts
    if stale:
        progress("-", f"removed kernel rules left by an earlier run: {'; '.join(stale)}")
    timeline = Timeline(stack.paths.state_dir / TIMELINE_FILE)
    pending = start_order([e for e in experiments if not e.exception])
    running: list[_Child] = []
    try:
        while pending or running:
            while (chosen := next_to_start(pending, [c.experiment for c in running], capacity)) is not None:
                pending.remove(chosen)
                timeline.started(chosen)
                running.append(_spawn(stack, chosen, experiments_dir, timeline.path, progress))
                progress(chosen.name, f"started ({len(running)} running, {len(pending)} waiting)")
            for child in [c for c in running if c.process.poll() is not None]:
                running.remove(child)
                timeline.ended(child.experiment)
                results.append(_reap(child, progress))
            time.sleep(POLL_S)
    except KeyboardInterrupt:
        with sigint_ignored():
            for child in running:
                child.process.send_signal(signal.SIGINT)
            for child in running:
                child.process.wait()
                timeline.ended(child.experiment)
                results.append(_reap(child, progress))
    return results


def _spawn(stack: Stack, experiment: Experiment, experiments_dir: Path | None, timeline: Path, progress: LaneProgress) -> _Child:
    command = [sys.executable, "-c", CHILD_COMMAND, "chaos", "run", experiment.name, "--format", "json"]
    command += ["--concurrency", "1", "--state-dir", str(stack.paths.state_dir)]
    if experiments_dir is not None:
        command += ["--experiments", str(experiments_dir)]
    env = {**os.environ, ENV: str(timeline), "COLUMNS": "200", "NO_COLOR": "1"}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True
    )
    child = _Child(experiment, process)

    def relay() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            if line.strip():
                child.tail = [*child.tail[-4:], line.strip()]
                progress(experiment.name, line.strip())

    def collect() -> None:
        assert process.stdout is not None
        child.stdout.extend(process.stdout)

    child.readers = [threading.Thread(target=t, daemon=True) for t in (relay, collect)]
    for reader in child.readers:
        reader.start()
    return child


def _reap(child: _Child, progress: LaneProgress) -> ExperimentResult:
    for reader in child.readers:
        reader.join(timeout=10)
    name = child.experiment.name
    try:
        reports = json.loads("".join(child.stdout))["experiments"]
        result = ExperimentResult.from_json(reports[0])
    except (ValueError, KeyError, IndexError):
        why = " | ".join(child.tail) or "no output"
        result = ExperimentResult(
            name,
            child.experiment.alert,
            "failed",
            child.experiment.fault,
            message=f"its process exited {child.process.returncode} without a report: {why}",
        )
    progress(name, f"{result.status} in {result.duration_s:.0f} s: {result.message}")
    return result
