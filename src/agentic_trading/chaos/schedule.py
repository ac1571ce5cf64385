"""Which experiments may run side by side, and which starts next: ``atctl chaos run --concurrency N``.

Most of an experiment is waiting (an alert's hold, a rate window draining), so running
experiments whose faults cannot interact side by side shortens ``--all`` without shortening
any wait. Two experiments *interact*, and never run at the same time, when:

* one's alert is among the other's declared alerts (``alert`` and ``also_notified``): the
  other fault could fire it, and a time to fire would then measure the wrong fault;
* they touch the same program or shared thing (the programs their actions act on, and
  ``extensions.atctl.touches``), e.g. two faults on the orchestrator or on Redis' memory;
* one touches what the other needs undisturbed (``extensions.atctl.needs``). Every experiment
  needs the alert path (Prometheus, Alertmanager, the receiver), so the Watchdog's experiment,
  which stops Prometheus, always runs alone.

Pure: the rules and the choice are unit-tested without a stack.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from agentic_trading.chaos.experiment import Experiment

ALERT_PATH = frozenset({"prometheus", "alertmanager", "receiver"})
DEFAULT_NOTIFY_S = 13.0  # a Down alert's fast hold + 3 s, when a file gives no notify budget


def conflict(a: Experiment, b: Experiment) -> str | None:
    """Why ``a`` and ``b`` must not run at the same time, or None when they cannot interact."""
    for x, y in ((a, b), (b, a)):
        if x.alert in y.declared:
            return f"{y.name} may notify {x.alert}, the alert {x.name} times"
    shared = a.touches & b.touches
    if shared:
        return f"both touch {', '.join(sorted(shared))}"
    for x, y in ((a, b), (b, a)):
        hit = x.touches & (y.needs | ALERT_PATH)
        if hit:
            return f"{x.name} touches {', '.join(sorted(hit))}, which {y.name} needs"
    return None


def alone(experiment: Experiment) -> bool:
    """It touches the alert path every other experiment measures through."""
    return bool(experiment.touches & ALERT_PATH)


def expected_s(experiment: Experiment) -> float:
    """A rough length from the file's budgets: notify + resolve (the waits an experiment cannot skip)."""
    notify = experiment.notify_within_s if experiment.notify_within_s is not None else DEFAULT_NOTIFY_S
    return notify + experiment.resolve_within_s


def start_order(experiments: Sequence[Experiment]) -> list[Experiment]:
    """Those that must run alone first, then the alerts most faults may fire, then the longest.

    * Alone first: on a fresh stack nothing is left to wait for. Last, the Watchdog's steady
      state waited 13 s for the previous experiments' alerts to end, with every other slot idle.
    * Then the experiments whose alert the most other experiments declare (the SLO burns: 10
      other experiments' faults may fire them): timed first, on windows no earlier fault has filled. After a
      burn their steady state waits for their own alert to end (the slow burn's 2-minute
      window), and every experiment that declares their alert cannot run beside them anyway.
    * Then the longest first, so that the long ones do not end the run alone.
    Which of them start, and when, is :func:`next_to_start`'s; measured, any of these orders
    reaches the bound :func:`longest_chain` sets, so the order only saves the waits above.
    """
    declared_by = {e.name: sum(1 for other in experiments if other is not e and e.alert in other.declared) for e in experiments}
    return sorted(experiments, key=lambda e: (not alone(e), -declared_by[e.name], -expected_s(e), e.name))


def next_to_start(pending: Sequence[Experiment], running: Sequence[Experiment], capacity: int) -> Experiment | None:
    """The first pending experiment that interacts with no running one, if a slot is free.

    Greedy in ``pending``'s order; only an experiment that must run alone is never overtaken
    (nothing after it starts until it has run), so it gets its turn once the running ones end.
    Holding back every waiting experiment's place instead left slots idle for a minute and more
    behind one long experiment that interacts with most others.
    """
    if len(running) >= capacity:
        return None
    for candidate in pending:
        if not any(conflict(candidate, other) for other in running):
            return candidate
        if alone(candidate):
            return None
    return None


def longest_chain(experiments: Sequence[Experiment], seconds: Mapping[str, float]) -> tuple[float, list[Experiment]]:
    """The experiments that interact pairwise with the most seconds between them, and that sum.

    They can never overlap, whatever the concurrency: their summed durations bound a
    concurrent run's wall time from below (a maximum-weight clique of the "interacts" graph;
    exhaustive with pruning, fine for a few dozen experiments).
    """
    ordered = sorted(experiments, key=lambda e: -seconds.get(e.name, 0.0))
    best: tuple[float, list[Experiment]] = (0.0, [])

    def grow(chosen: list[Experiment], candidates: list[Experiment], total: float) -> None:
        nonlocal best
        if total > best[0]:
            best = (total, list(chosen))
        for index, candidate in enumerate(candidates):
            rest = candidates[index:]
            if total + sum(seconds.get(e.name, 0.0) for e in rest) <= best[0]:
                return
            linked = [e for e in rest[1:] if conflict(candidate, e)]
            grow([*chosen, candidate], linked, total + seconds.get(candidate.name, 0.0))

    grow([], ordered, 0.0)
    return best
