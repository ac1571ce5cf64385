"""Sharding experiments over stacks (`atctl chaos run --stacks N`): the plan, its replay, the extra stacks' offsets."""

from __future__ import annotations

import json
import socket

import pytest

from _support import chaos_experiment as _experiment
from agentic_trading.chaos.errors import NoFreeOffsetError
from agentic_trading.chaos.experiment import default_experiments_dir, discover
from agentic_trading.chaos.fleet import check_offsets, pick_offsets
from agentic_trading.chaos.report import durations_of
from agentic_trading.chaos.schedule import conflict
from agentic_trading.chaos.shards import chains, plan, replay, replay_stack
from agentic_trading.settings import Settings
from agentic_trading.stack import select_programs
from agentic_trading.stack.programs import program_ports
from agentic_trading.stack.state import replace_settings

SLOW = _experiment("slo-burn-slow", "SLOBurnRateSlow", touches=("orchestrator",))
FAST = _experiment("slo-burn-fast", "SLOBurnRateFast", touches=("orchestrator",))
CANARY = _experiment("canary-undecided", "CanarySignalsUndecided", touches=("orchestrator",))
EXPORTER = _experiment("exporter-down", "TargetDown", touches=("redis-exporter",))
WATCHDOG = _experiment("watchdog", "Watchdog", touches=("prometheus",))
SECONDS = {"slo-burn-slow": 150.0, "slo-burn-fast": 45.0, "canary-undecided": 40.0, "exporter-down": 20.0, "watchdog": 11.0}


def test_on_one_stack_interacting_experiments_run_one_after_another_and_others_beside_them():
    replayed = replay_stack([SLOW, FAST, EXPORTER], capacity=3, seconds=SECONDS)
    # The two burns share the orchestrator: one after the other; exporter-down beside the first.
    assert replayed.starts == {"slo-burn-fast": 0.0, "exporter-down": 0.0, "slo-burn-slow": 45.0}
    assert replayed.end_s == 195.0


def test_an_extra_stack_starts_its_experiments_only_once_it_is_up():
    replayed = replay([[EXPORTER], [FAST]], capacity=3, seconds=SECONDS, ready_s=25.0)
    assert [r.starts for r in replayed] == [{"exporter-down": 0.0}, {"slo-burn-fast": 25.0}]
    assert [r.end_s for r in replayed] == [20.0, 70.0]


def test_the_plan_puts_long_experiments_that_interact_on_different_stacks_and_the_watchdog_on_the_first():
    shards = plan([EXPORTER, CANARY, FAST, SLOW, WATCHDOG], stacks=2, capacity=3, measured=SECONDS, ready_s=25.0)
    names = [{e.name for e in shard} for shard in shards]
    assert "watchdog" in names[0]  # it stops Prometheus: only the first stack is up before the run
    # The three share the orchestrator: on one stack they would take 235 s one after another.
    assert len({k for k, shard in enumerate(names) for n in shard if n in ("slo-burn-slow", "slo-burn-fast")}) == 2
    ends = [r.end_s for r in replay(shards, 3, SECONDS, ready_s=25.0)]
    assert max(ends) < replay_stack([EXPORTER, CANARY, FAST, SLOW, WATCHDOG], 3, SECONDS).end_s
    assert max(ends) <= 161.0 + 25.0


def test_one_stack_is_todays_run_and_no_stack_is_refused():
    shards = plan([EXPORTER, FAST, WATCHDOG], stacks=1, capacity=3)
    assert len(shards) == 1
    assert {e.name for e in shards[0]} == {"exporter-down", "slo-burn-fast", "watchdog"}
    with pytest.raises(ValueError, match="at least one stack"):
        plan([EXPORTER], stacks=0, capacity=3)


def test_the_repository_plan_on_two_stacks_replays_under_five_minutes_with_the_measured_durations():
    """The check the brief asks for before running: the committed plan, replayed with a real run's durations."""
    experiments = [e for e in discover() if not e.exception]
    measured = durations_of(json.loads((default_experiments_dir() / "measured" / "all.json").read_text()))
    assert set(measured) >= {e.name for e in experiments}, "chaos/measured/all.json lacks an experiment's duration"
    shards = plan(experiments, stacks=2, capacity=3, measured=measured)
    assert sorted(e.name for shard in shards for e in shard) == sorted(e.name for e in experiments)
    ends = [r.end_s for r in replay(shards, 3, measured)]
    one_stack = replay_stack(experiments, 3, measured).end_s
    assert max(ends) < 300.0 < one_stack
    # Neither stack's chain holds both SLO experiments (they share the orchestrator they pause).
    for _total, chain in chains(shards, measured):
        assert not {"slo-burn-slow", "slo-burn-fast"} <= {e.name for e in chain}
    by_name = {e.name: e for e in experiments}
    assert conflict(by_name["slo-burn-slow"], by_name["slo-burn-fast"])


def test_extra_stack_offsets_share_no_port_with_the_first_stack_nor_each_other(tmp_path):
    settings = Settings(state_dir=tmp_path, port_offset=12550)
    programs = select_programs(None)
    # 12650 is 100 apart from the first stack: its 8101 + 100 is 8201, the first stack's orchestrator.
    offsets = pick_offsets(settings, programs, 2, candidates=[12650, *range(21000, 23501, 100)])
    assert len(offsets) == 2
    assert 12650 not in offsets
    ports = [set(program_ports(replace_settings(settings, port_offset=o), programs)) for o in (12550, *offsets)]
    assert all(not (a & b) for i, a in enumerate(ports) for b in ports[i + 1 :])


def test_an_extra_stack_skips_an_offset_whose_port_is_taken_now(tmp_path):
    settings = Settings(state_dir=tmp_path, port_offset=12550)
    programs = select_programs(["redis"])
    free = [o for o in range(21000, 23501, 100) if pick_offsets(settings, programs, 1, candidates=[o]) == [o]]
    with socket.socket() as held:
        held.bind(("127.0.0.1", 6379 + free[0]))
        held.listen()
        assert pick_offsets(settings, programs, 1, candidates=free[:2]) == [free[1]]


def test_given_offsets_that_collide_are_refused_naming_the_offset(tmp_path):
    settings = Settings(state_dir=tmp_path, port_offset=12550)
    with pytest.raises(NoFreeOffsetError, match="--stack-offsets 12650: ports .* another stack's"):
        check_offsets(settings, select_programs(None), [12650])
    with pytest.raises(NoFreeOffsetError, match="found 0 of 1"):
        pick_offsets(settings, select_programs(None), 1, candidates=[12550])
