"""CPU percent of a process tree from two samples: normalised by cores, clamped, honest about new and dead processes."""

import pytest

from agentic_trading.exporters.cpu import (
    ProcessKey,
    TreeSample,
    busy_cpu_seconds,
    clamp,
    cpu_usage_percent,
    tree_cpu_percent,
)

ROOT = ProcessKey(100, 1_000.0)
WORKER = ProcessKey(101, 1_000.5)


def sample(at: float, **cpu: float) -> TreeSample:
    keys = {"root": ROOT, "worker": WORKER}
    return TreeSample(taken_at=at, wall_time=2_000.0 + at, cpu_seconds={keys[k]: v for k, v in cpu.items()})


def test_one_busy_core_of_two_is_fifty_percent():
    assert cpu_usage_percent(busy_seconds=1.0, elapsed_seconds=1.0, cores=2) == 50.0
    assert tree_cpu_percent(sample(10, root=5.0), sample(12, root=7.0), cores=2) == 50.0


def test_children_such_as_uvicorn_workers_add_to_their_program():
    before = sample(10, root=1.0, worker=3.0)
    after = sample(11, root=1.2, worker=3.6)
    assert busy_cpu_seconds(before, after) == pytest.approx(0.8)
    assert tree_cpu_percent(before, after, cores=2) == pytest.approx(40.0)


def test_an_idle_program_is_zero_not_negative_even_when_a_worker_died():
    before = sample(10, root=1.0, worker=3.0)
    after = sample(11, root=1.0)  # the worker exited: its time is gone from the tree
    assert tree_cpu_percent(before, after, cores=2) == 0.0


def test_a_process_born_during_the_interval_counts_whole_but_one_merely_missed_does_not():
    before = sample(10, root=1.0)
    newborn = ProcessKey(102, before.wall_time + 0.2)
    old_but_missed = ProcessKey(103, before.wall_time - 100)
    after = TreeSample(taken_at=11, wall_time=before.wall_time + 1, cpu_seconds={ROOT: 1.1, newborn: 0.3, old_but_missed: 50.0})
    assert busy_cpu_seconds(before, after) == pytest.approx(0.4)


def test_a_reused_pid_is_a_different_process():
    before = sample(10, root=40.0)
    reborn = ProcessKey(ROOT.pid, before.wall_time + 0.5)
    after = TreeSample(taken_at=11, wall_time=before.wall_time + 1, cpu_seconds={reborn: 0.25})
    assert busy_cpu_seconds(before, after) == pytest.approx(0.25)


def test_the_result_is_clamped_to_0_100():
    assert cpu_usage_percent(busy_seconds=5.0, elapsed_seconds=1.0, cores=2) == 100.0
    assert clamp(-3.0) == 0.0 and clamp(250.0) == 100.0 and clamp(42.5) == 42.5


def test_samples_spanning_no_time_give_no_figure_and_bad_inputs_are_refused():
    assert tree_cpu_percent(sample(10, root=1.0), sample(10, root=1.0), cores=2) is None
    with pytest.raises(ValueError, match="elapsed_seconds"):
        cpu_usage_percent(1.0, 0.0, 2)
    with pytest.raises(ValueError, match="cores"):
        cpu_usage_percent(1.0, 1.0, 0)
