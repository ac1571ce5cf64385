"""Which stack each experiment runs on: ``atctl chaos run --stacks N``, planned and replayed. Pure.

On one stack the experiments that interact pairwise (:func:`~agentic_trading.chaos.schedule.conflict`)
run one after another whatever the concurrency; the faults on NATS, Redis, the gateway and the
orchestrator all touch what the two SLO experiments need, so on one stack that chain alone is
7–8 minutes. Experiments on *different* stacks cannot interact: each stack has its own gateway,
NATS, Redis, Prometheus, Alertmanager and receiver. So a run is sharded like a test suite over
workers: :func:`plan` gives each experiment a stack, conflicts and the per-stack concurrency
apply within a stack only, and :func:`replay` plays the plan with given durations through the
same :func:`~agentic_trading.chaos.schedule.next_to_start` the run uses, to check a plan before
running it.

The plan is greedy, longest first: each experiment goes to the stack where the replayed plan
so far ends earliest (ties: the stack with fewer seconds of work, then the first); then single
moves and swaps between stacks are kept while they shorten the replayed run. An
experiment that must run alone (the Watchdog's) goes to the first stack, which is up before
the run starts; the extra stacks start beside the first experiments, so :func:`plan` counts
``ready_s`` before anything can start on them.

Durations: a measured one when given (a report's ``duration_s``), else the file's budgets plus
the fixed part of every experiment (:func:`estimate_s`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from agentic_trading.chaos.experiment import Experiment
from agentic_trading.chaos.schedule import alone, expected_s, longest_chain, next_to_start, start_order

# Steady states, settling, the resolution hold and the child process's start: 5–8 s measured
# per experiment beyond its notify and resolve waits (docs/chaos.md, "Sharding over stacks").
FIXED_S = 7.0
# An extra fast-profile stack is healthy and scraped 15–25 s after it is started on this machine.
EXTRA_STACK_READY_S = 25.0


def estimate_s(experiment: Experiment, measured: Mapping[str, float] | None = None) -> float:
    """Its measured length when known, else its notify and resolve budgets plus :data:`FIXED_S`."""
    if measured and experiment.name in measured:
        return measured[experiment.name]
    return expected_s(experiment) + FIXED_S


@dataclass(frozen=True)
class Replayed:
    """One stack's replay: when each experiment starts, and when the last one ends."""

    starts: dict[str, float]
    end_s: float


def replay_stack(
    experiments: Sequence[Experiment], capacity: int, seconds: Mapping[str, float], ready_s: float = 0.0
) -> Replayed:
    """Play one stack's experiments as the run would: :func:`start_order`, then :func:`next_to_start`."""
    pending = start_order(list(experiments))
    running: list[tuple[float, Experiment]] = []  # (end, experiment)
    starts: dict[str, float] = {}
    now = ready_s
    end = ready_s
    while pending or running:
        while (chosen := next_to_start(pending, [e for _, e in running], capacity)) is not None:
            pending.remove(chosen)
            starts[chosen.name] = now
            running.append((now + seconds.get(chosen.name, 0.0), chosen))
        if not running:  # nothing can start and nothing runs: cannot happen with a sane conflict rule
            raise ValueError(f"no experiment can start: {', '.join(e.name for e in pending)}")
        now = min(t for t, _ in running)
        end = max(end, now)
        running = [(t, e) for t, e in running if t > now]
    return Replayed(starts, end)


def replay(
    stacks: Sequence[Sequence[Experiment]], capacity: int, seconds: Mapping[str, float], ready_s: float = EXTRA_STACK_READY_S
) -> list[Replayed]:
    """Each stack's replay; stacks after the first begin ``ready_s`` late (they start with the run)."""
    return [replay_stack(assigned, capacity, seconds, 0.0 if k == 0 else ready_s) for k, assigned in enumerate(stacks)]


def plan(
    experiments: Sequence[Experiment],
    stacks: int,
    capacity: int,
    measured: Mapping[str, float] | None = None,
    ready_s: float = EXTRA_STACK_READY_S,
) -> list[list[Experiment]]:
    """Each stack's experiments (index 0: the given stack), in the order they were placed."""
    if stacks < 1:
        raise ValueError("at least one stack")
    seconds = {e.name: estimate_s(e, measured) for e in experiments}
    placed: list[list[Experiment]] = [[] for _ in range(stacks)]
    for experiment in sorted(experiments, key=lambda e: (not alone(e), -seconds[e.name], e.name)):
        if alone(experiment) or stacks == 1:
            placed[0].append(experiment)
            continue

        def cost(k: int, e: Experiment = experiment) -> tuple[float, float, int]:
            trial = [*placed[k], e]
            ends = [_end(j, trial if j == k else p, capacity, seconds, ready_s) for j, p in enumerate(placed)]
            return (max(ends), sum(seconds[x.name] for x in trial), k)

        placed[min(range(stacks), key=cost)].append(experiment)
    return _improve(placed, capacity, seconds, ready_s)


def _improve(
    placed: list[list[Experiment]], capacity: int, seconds: Mapping[str, float], ready_s: float, rounds: int = 20
) -> list[list[Experiment]]:
    """Move one experiment to another stack, or swap two, while that shortens the replayed run.

    The greedy placement is blind to what comes after it (measured: 264 s where a swap gave
    260 s); a few rounds of single moves and swaps fix most of that, in well under a second.
    """

    def score(shards: list[list[Experiment]]) -> tuple[float, float]:
        ends = sorted((_end(k, shard, capacity, seconds, ready_s) for k, shard in enumerate(shards)), reverse=True)
        return (ends[0], sum(ends))

    best = score(placed)
    for _ in range(rounds):
        improved = False
        for trial in _neighbours(placed):
            trial_score = score(trial)
            if trial_score < best:
                placed, best, improved = trial, trial_score, True
                break
        if not improved:
            break
    return placed


def _neighbours(placed: list[list[Experiment]]) -> Iterator[list[list[Experiment]]]:
    """Every placement one move or one swap away (the Watchdog's kind stays on the first stack)."""
    for k, shard in enumerate(placed):
        for e in shard:
            if alone(e):
                continue
            for j in range(len(placed)):
                if j == k:
                    continue
                moved = [list(s) for s in placed]
                moved[k].remove(e)
                moved[j].append(e)
                yield moved
                for f in placed[j]:
                    if alone(f) or j < k:
                        continue
                    swapped = [list(s) for s in moved]
                    swapped[j].remove(f)
                    swapped[k].append(f)
                    yield swapped


def _end(k: int, assigned: Sequence[Experiment], capacity: int, seconds: Mapping[str, float], ready_s: float) -> float:
    if not assigned:
        return 0.0
    return replay_stack(assigned, capacity, seconds, 0.0 if k == 0 else ready_s).end_s


def chains(stacks: Sequence[Sequence[Experiment]], seconds: Mapping[str, float]) -> list[tuple[float, list[Experiment]]]:
    """Each stack's longest chain of experiments that interact pairwise (its bound, as on one stack)."""
    return [longest_chain(list(assigned), seconds) for assigned in stacks]
