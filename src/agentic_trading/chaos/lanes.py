"""Run experiments side by side: each in a child ``atctl chaos run NAME`` process, never two that interact.

Why processes, not threads: chaoslib installs signal handlers while it runs an experiment
(``chaoslib.exit.exit_signals``: SIGTERM, SIGUSR1, SIGUSR2), which Python allows in the main
thread only, and the providers find their experiment through one module-level session. A child
process per experiment keeps both as they are, and keeps each experiment's rollbacks its own.

With several stacks (``--stacks``, :mod:`~agentic_trading.chaos.fleet`) each has its own
lane: its shard of the experiments (:mod:`~agentic_trading.chaos.shards`), its own timeline
file and ``capacity`` slots; experiments on different stacks never see each other.

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
from agentic_trading.chaos.fleet import Fleet, label
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
    stack: Stack
    process: subprocess.Popen[str]
    stdout: list[str] = field(default_factory=list)
    tail: list[str] = field(default_factory=list)  # the last progress lines, for a child that dies
    readers: list[threading.Thread] = field(default_factory=list)


def run_concurrently(
    fleet: Fleet,
    shards: list[list[Experiment]],
    capacity: int,
    experiments_dir: Path | None,
    progress: LaneProgress,
) -> list[ExperimentResult]:
    """Run each shard on its stack of ``fleet``, at most ``capacity`` at a time per stack and never two that interact there.

    Results in the order they end, each naming its stack. A shard whose extra stack did not
    start runs on the first stack instead. The caller starts and stops the fleet.
    """
    stacks = fleet.stacks()
    results = [_on(run_one(stacks[0], e), stacks[0]) for shard in shards for e in shard if e.exception]
    pending = [start_order([e for e in shard if not e.exception]) for shard in shards]
    timelines: dict[int, Timeline] = {}
    running: list[_Child] = []
    try:
        while any(pending) or running:
            for k, stack in enumerate(stacks):
                if fleet.failed(k) and pending[k]:
                    progress("-", f"stack {k + 1} did not start: its {len(pending[k])} experiments go to stack 1")
                    pending[0], pending[k] = start_order([*pending[0], *pending[k]]), []
                if not pending[k] or not fleet.ready(k):
                    continue
                if k not in timelines:
                    timelines[k] = _open_lane(stack, progress)
                here = [c.experiment for c in running if c.stack is stack]
                while (chosen := next_to_start(pending[k], here, capacity)) is not None:
                    pending[k].remove(chosen)
                    timelines[k].started(chosen)
                    running.append(_spawn(stack, chosen, experiments_dir, timelines[k].path, progress))
                    here.append(chosen)
                    where = f" on stack {k + 1}" if len(stacks) > 1 else ""
                    progress(chosen.name, f"started{where} ({len(here)} running, {len(pending[k])} waiting there)")
            for child in [c for c in running if c.process.poll() is not None]:
                running.remove(child)
                timelines[stacks.index(child.stack)].ended(child.experiment)
                results.append(_reap(child, progress))
            time.sleep(POLL_S)
    except KeyboardInterrupt:
        with sigint_ignored():
            for child in running:
                child.process.send_signal(signal.SIGINT)
            for child in running:
                child.process.wait()
                timelines[stacks.index(child.stack)].ended(child.experiment)
                results.append(_reap(child, progress))
            for k, waiting in enumerate(pending):  # never started: interrupted too, so the run cannot read as passed
                for experiment in waiting:
                    why = "not started: interrupted (Ctrl-C) before its turn"
                    skipped = ExperimentResult(experiment.name, experiment.alert, "interrupted", experiment.fault, message=why)
                    results.append(_on(skipped, stacks[k]))
    return results


def _open_lane(stack: Stack, progress: LaneProgress) -> Timeline:
    """Once per stack, before its first experiment: kernel rules a killed run left, and its timeline file."""
    stale = partition.remove_leftovers(f"{stack.settings.port_offset}-")
    if stale:
        progress("-", f"removed kernel rules left by an earlier run: {'; '.join(stale)}")
    return Timeline(stack.paths.state_dir / TIMELINE_FILE)


def _on(result: ExperimentResult, stack: Stack) -> ExperimentResult:
    result.stack = label(stack)
    return result


def _spawn(stack: Stack, experiment: Experiment, experiments_dir: Path | None, timeline: Path, progress: LaneProgress) -> _Child:
    command = [sys.executable, "-c", CHILD_COMMAND, "chaos", "run", experiment.name, "--format", "json"]
    command += ["--concurrency", "1", "--state-dir", str(stack.paths.state_dir)]
    if experiments_dir is not None:
        command += ["--experiments", str(experiments_dir)]
    env = {**os.environ, ENV: str(timeline), "COLUMNS": "200", "NO_COLOR": "1"}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True
    )
    child = _Child(experiment, stack, process)

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
    return _on(result, child.stack)
