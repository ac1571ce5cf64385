"""Run experiment files with Chaos Toolkit's engine (chaostoolkit-lib) and judge each run.

chaostoolkit-lib plays the file: steady-state hypothesis, method, hypothesis again, then
the rollbacks, with the rollback strategy ``always`` — so rollbacks also run on a failed
activity, a deviated hypothesis and Ctrl-C (chaoslib catches KeyboardInterrupt during
the method and goes on to the rollbacks). After it returns, the session undoes anything
still active once more (with SIGINT ignored for that moment), so even an interrupt during
a rollback leaves no partition, proxy or stopped program behind.

The verdict is ours, not chaoslib's (whose exit status does not always follow its journal):
``passed`` only when the baseline held, every activity and rollback succeeded, the
hypothesis did not deviate and no expectation failed (:mod:`agentic_trading.chaos.measure`).
"""

from __future__ import annotations

import copy
import logging
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from typing import Any

from chaoslib.experiment import run_experiment as chaoslib_run

from agentic_trading.chaos import partition
from agentic_trading.chaos.experiment import Experiment
from agentic_trading.chaos.measure import Figures, seconds
from agentic_trading.chaos.neighbours import ENV as NEIGHBOURS_ENV
from agentic_trading.chaos.session import Session, active, sigint_handled
from agentic_trading.stack import Stack

ROLLBACK_SETTINGS = {"runtime": {"rollbacks": {"strategy": "always"}}}
Progress = Callable[[str], None]

_chaoslib_log = logging.getLogger("chaostoolkit")
_chaoslib_log.addHandler(logging.NullHandler())
_chaoslib_log.propagate = False


@dataclass
class _Experiment:
    name: str
    alert: str
    status: str  # passed, failed, skipped, interrupted, inconclusive
    fault: str


@dataclass
class ExperimentResult(Figures, _Experiment):
    """One experiment's outcome: the JSON fields of ``atctl chaos run --format json``.

    Fields in order: the experiment's (name, alert, status, fault), its :class:`Figures`
    (dataclass fields follow the reversed MRO), then the verdict's message.
    """

    message: str = ""
    duration_s: float = 0.0
    phases_s: dict[str, float] = field(default_factory=dict)  # where the time went (chaoslib's journal)
    notify_budget_s: float | None = None
    resolve_budget_s: float | None = None
    alongside: list[str] = field(default_factory=list)  # experiments that ran at the same time
    stack: str = ""  # the state directory of the stack it ran on (several with --stacks)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "alert": self.alert,
            "status": self.status,
            "fault": self.fault,
            "time_to_fire_s": seconds(self.time_to_fire_s),
            "time_to_alertmanager_s": seconds(self.time_to_alertmanager_s),
            "time_to_notify_s": seconds(self.time_to_notify_s),
            "time_to_resolve_s": seconds(self.time_to_resolve_s),
            "unexpected_alerts": self.unexpected_alerts,
            "signals_accepted": self.signals_accepted,
            "signals_decided": self.signals_decided,
            "message": self.message,
            "notify_budget_s": self.notify_budget_s,
            "resolve_budget_s": self.resolve_budget_s,
            "duration_s": round(self.duration_s, 1),
            "phases_s": self.phases_s,
            "ran_alongside": self.alongside,
            "stack": self.stack,
        }

    @property
    def ok(self) -> bool:
        return self.status in ("passed", "skipped")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExperimentResult:
        """Back from :meth:`to_json` (a child process's report in a concurrent run)."""
        return cls(
            name=data["name"],
            alert=data["alert"],
            status=data["status"],
            fault=data["fault"],
            **{k: data.get(k) for k in FIGURE_KEYS},
            message=data.get("message", ""),
            duration_s=float(data.get("duration_s") or 0.0),
            phases_s=dict(data.get("phases_s") or {}),
            notify_budget_s=data.get("notify_budget_s"),
            resolve_budget_s=data.get("resolve_budget_s"),
            alongside=list(data.get("ran_alongside") or []),
            stack=str(data.get("stack") or ""),
        )


FIGURE_KEYS = tuple(f.name for f in fields(Figures))


def run_one(stack: Stack, experiment: Experiment, progress: Progress | None = None) -> ExperimentResult:
    """Run one experiment against ``stack`` and judge it; exceptions become ``skipped`` without running."""
    say = progress or (lambda message: None)
    if experiment.exception:
        return ExperimentResult(experiment.name, experiment.alert, "skipped", experiment.fault, message=experiment.exception)
    started = time.monotonic()
    session = Session(stack=stack, experiment=experiment, progress=say)
    if not concurrent():  # a concurrent run's parent cleans up once, before any experiment starts
        stale = partition.remove_leftovers(session.tag)  # a run killed with SIGKILL could not clean up
        if stale:
            say(f"removed kernel rules left by an earlier run: {'; '.join(stale)}")
    journal: dict[str, Any] = {}
    interrupted = False
    try:
        with active(session):
            try:
                journal = chaoslib_run(copy.deepcopy(experiment.document), settings=copy.deepcopy(ROLLBACK_SETTINGS))
            except KeyboardInterrupt:
                interrupted = True  # outside the method (chaoslib catches it inside): clean up below
            finally:
                with sigint_ignored():
                    session.undo_all()
                    # Only this experiment's programs: a neighbour's partition is the neighbour's to heal.
                    tags = [session.tag + program for program in sorted(experiment.touches)]
                    leftovers = [left for tag in tags for left in partition.remove_leftovers(tag)]
                    if leftovers:
                        session.problem(f"removed left-over kernel rules: {'; '.join(leftovers)}")
    finally:
        session.close()
    result = judge(experiment, session, journal, interrupted)
    result.duration_s = time.monotonic() - started
    result.phases_s = phases(journal)
    return result


def concurrent() -> bool:
    """This process runs one experiment of a concurrent run (``--concurrency``), started by its parent."""
    return bool(os.environ.get(NEIGHBOURS_ENV))


def phases(journal: dict[str, Any]) -> dict[str, float]:
    """Seconds per phase: the steady state before, each activity of the method, the rollbacks."""
    found: dict[str, float] = {}
    states = journal.get("steady_states") or {}
    if states.get("before"):
        found["steady-state-before"] = _sum_durations(states["before"].get("probes"))
    for run in journal.get("run") or []:
        found[run["activity"]["name"]] = round(float(run.get("duration") or 0.0), 1)
    if states.get("after"):
        found["steady-state-after"] = _sum_durations(states["after"].get("probes"))
    rollbacks = journal.get("rollbacks") or []
    if rollbacks:
        found["rollbacks"] = _sum_durations(rollbacks)
    return found


def _sum_durations(runs: list[dict[str, Any]] | None) -> float:
    return round(sum(float(r.get("duration") or 0.0) for r in runs or []), 1)


def judge(experiment: Experiment, session: Session, journal: dict[str, Any], interrupted: bool = False) -> ExperimentResult:
    obs = session.observation
    problems = list(obs.problems)
    status = journal.get("status")
    if interrupted or status == "interrupted":
        verdict = "interrupted"
        problems.insert(0, "interrupted (Ctrl-C); rollbacks ran")
    else:
        before = (journal.get("steady_states") or {}).get("before") or {}
        if before and not before.get("steady_state_met"):
            problems.insert(0, "the stack was not in its steady state before the fault (see `atctl status`)")
        if journal.get("deviated"):
            problems.append("the steady state did not come back after the experiment")
        if status not in ("completed", None) or not journal:
            problems.append(f"chaostoolkit ended the run as {status!r}")
        for section in ("run", "rollbacks"):
            for run in journal.get(section) or []:
                if run.get("status") != "succeeded":
                    why = (run.get("exception") or ["failed"])[-1].strip()
                    problems.append(f"{run['activity']['name']}: {why}")
        verdict = "failed" if problems else "passed"
        if session.inconclusive and not obs.problems:  # only the untested alert's wait failed
            verdict, problems = "inconclusive", [session.inconclusive]
    message = _dedupe(problems)[0] if problems else "ok"
    if session.alongside:  # a concurrent run: say whose alerts this verdict tolerated
        tolerated = sorted({alert for alerts in session.alongside.values() for alert in alerts})
        message += f" (ran alongside {', '.join(sorted(session.alongside))}; tolerated their alerts {', '.join(tolerated)})"
    return ExperimentResult(
        name=experiment.name,
        alert=experiment.alert,
        status=verdict,
        fault=session.fault_description or experiment.fault,
        **obs.figures(),
        message=message,
        alongside=sorted(session.alongside),
        notify_budget_s=session.extras.get("notify_budget_s", experiment.notify_within_s),
        resolve_budget_s=experiment.resolve_within_s,
    )


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


@contextmanager
def sigint_ignored() -> Iterator[None]:
    """Cleanup that must finish: a second Ctrl-C waits until it is done."""
    with sigint_handled(signal.SIG_IGN):
        yield
