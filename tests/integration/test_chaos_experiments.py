"""Chaos experiments and incident scenarios against the real test stack.

A representative subset of ``chaos/`` runs here (the whole set is ``atctl chaos run --all``,
timed in docs/chaos.md): a process fault through the CLI with its JUnit report, the kernel
partition of the gateway from NATS, an experiment whose alert rule was deleted, and Ctrl-C in
the middle of a partition. After each, the stack must be as it was: every program healthy,
no iptables rule or cgroup of ours left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import psutil
import pytest
import yaml
from _live import LiveStack

from _support import eventually
from agentic_trading.chaos import partition
from agentic_trading.chaos.experiment import discover
from agentic_trading.chaos.fleet import EXTRA_DIR
from agentic_trading.chaos.observe import AlertPath
from agentic_trading.chaos.runner import run_one
from agentic_trading.chaos.scenarios import SCENARIOS, run_scenario
from agentic_trading.stack import Stack
from agentic_trading.stack.ports import port_is_free
from agentic_trading.stack.programs import program_ports

# The experiments poll with their own deadlines. On the stack the alert-fault tests used just
# before (conftest.py ``fault_stack``): each experiment's steady state waits for their alerts to end.
pytestmark = [pytest.mark.integration, pytest.mark.leaves_alerts, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def live(fault_stack: LiveStack) -> LiveStack:
    """The stack shared with the other fault-injecting file (conftest.py ``fault_stack``)."""
    return fault_stack


ATCTL = [str(Path(sys.executable).with_name("atctl"))]
EXPERIMENTS = {e.name: e for e in discover()}


def _tag(live: LiveStack) -> str:
    return f"{live.settings.port_offset}-"


def assert_left_as_it_was(live: LiveStack) -> None:
    live.stack.wait_healthy(timeout=60)
    assert partition.active_rules(_tag(live)) == []
    assert partition.leftover_cgroups(_tag(live)) == []


def _atctl(live: LiveStack, *args: str) -> list[str]:
    return [*ATCTL, *args, "--state-dir", str(live.settings.state_dir)]


def test_gateway_down_passes_through_the_cli_and_its_junit_report_parses(live: LiveStack, tmp_path: Path):
    result = subprocess.run(
        _atctl(live, "chaos", "run", "gateway-down", "--format", "junit", "--output", str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    suite = ElementTree.parse(tmp_path / "chaos.xml").getroot()
    assert (suite.get("tests"), suite.get("failures")) == ("1", "0")
    assert ElementTree.fromstring(result.stdout).get("tests") == "1"  # stdout is the same report
    assert_left_as_it_was(live)


def test_nats_partition_drops_packets_fires_and_loses_no_accepted_signal(live: LiveStack):
    result = run_one(live.stack, EXPERIMENTS["nats-partition"], progress=print)

    assert result.status == "passed", result.to_json()
    assert "DROP" in result.fault
    # A cgroup of this fault's own (never one re-made under the name of a neighbour's just removed).
    assert f"cgroup atctl-chaos-{_tag(live)}gateway-nats-partition-" in result.fault, result.fault
    assert result.time_to_notify_s is not None and result.time_to_notify_s <= 10.0  # publish deadline 1.5 s + hold 5 s + 3 s
    assert result.signals_accepted and result.signals_decided == result.signals_accepted
    assert_left_as_it_was(live)


@pytest.fixture
def without_gateway_down(live: LiveStack) -> Iterator[None]:
    """The stack's rendered copy of gateway.yml without GatewayDown, loaded by Prometheus; restored after."""
    rules = live.settings.state_dir / "config" / "observability" / "prometheus" / "alerts" / "gateway.yml"
    original = rules.read_text()
    document = yaml.safe_load(original)
    for group in document["groups"]:
        group["rules"] = [r for r in group["rules"] if r.get("alert") != "GatewayDown"]
    path = AlertPath(live.settings, live.http)

    def reload_until(present: bool) -> None:
        # SIGHUP, as an operator reloads it: the lifecycle API (/-/reload) is off (docs/security.md).
        (prometheus,) = [s for s in live.stack.status() if s.name == "prometheus"]
        os.kill(prometheus.pid, signal.SIGHUP)
        eventually(lambda: (path.alert_for_s("GatewayDown") is not None) == present, timeout_s=15, what="rules reloaded")

    rules.write_text(yaml.safe_dump(document, sort_keys=False))
    try:
        reload_until(present=False)
        yield
    finally:
        rules.write_text(original)
        reload_until(present=True)


def test_with_its_rule_deleted_the_experiment_fails_naming_the_alert_and_the_stack_is_restored(
    live: LiveStack, without_gateway_down: None
):
    result = run_one(live.stack, EXPERIMENTS["gateway-down"], progress=print)

    assert result.status == "failed"
    assert "GatewayDown never fired" in result.message or "GatewayDown is not a rule" in result.message, result.message
    assert result.time_to_notify_s is None
    assert_left_as_it_was(live)


def test_ctrl_c_during_a_partition_runs_the_rollbacks(live: LiveStack):
    process = subprocess.Popen(
        _atctl(live, "chaos", "run", "nats-partition"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # As at a terminal: a suite started in the background (nohup, CI) ignores SIGINT, and
        # its children would inherit that.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    seen = []
    assert process.stderr is not None
    for line in process.stderr:
        seen.append(line)
        if "fault:" in line:
            break
    assert any("fault:" in line for line in seen), "".join(seen)
    eventually(lambda: partition.active_rules(_tag(live)), timeout_s=10, what="the partition's DROP rules in place")

    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)

    assert process.returncode == 1, stderr
    assert "interrupted" in stdout
    assert_left_as_it_was(live)


def test_two_experiments_that_cannot_interact_run_side_by_side_and_each_cleans_up_only_its_own(live: LiveStack):
    # exporter-down ends while agent-stalled's partition is still up: its cleanup must leave that alone.
    started = time.monotonic()
    run = subprocess.run(
        _atctl(live, "chaos", "run", "agent-stalled", "exporter-down", "--concurrency", "2", "--format", "json"),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    wall_s = time.monotonic() - started

    results = {r["name"]: r for r in json.loads(run.stdout)["experiments"]}
    assert run.returncode == 0, run.stderr
    assert {name: r["status"] for name, r in results.items()} == {"agent-stalled": "passed", "exporter-down": "passed"}
    assert results["agent-stalled"]["ran_alongside"] == ["exporter-down"]
    assert results["exporter-down"]["ran_alongside"] == ["agent-stalled"]
    assert "tolerated their alerts" in results["exporter-down"]["message"]
    assert wall_s < sum(r["duration_s"] for r in results.values()), (wall_s, run.stderr)
    assert_left_as_it_was(live)


def test_ctrl_c_during_a_concurrent_run_rolls_back_every_experiment(live: LiveStack):
    process = subprocess.Popen(
        _atctl(live, "chaos", "run", "agent-stalled", "exporter-down", "--concurrency", "2", "--format", "json"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as at a terminal (see above)
    )
    faulted, seen = set(), []
    assert process.stderr is not None
    for line in process.stderr:
        seen.append(line)
        if "fault:" in line:
            faulted.add(line.split()[1])
        if len(faulted) == 2:
            break
    assert faulted == {"agent-stalled", "exporter-down"}, "".join(seen)
    eventually(lambda: partition.active_rules(_tag(live)), timeout_s=10, what="agent-stalled's DROP rules in place")

    process.send_signal(signal.SIGINT)  # the parent only: it forwards one SIGINT to each experiment
    stdout, stderr = process.communicate(timeout=120)

    assert process.returncode == 1, stderr
    statuses = {r["name"]: r["status"] for r in json.loads(stdout)["experiments"]}
    assert statuses == {"agent-stalled": "interrupted", "exporter-down": "interrupted"}, stderr
    assert_left_as_it_was(live)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_incident_scenario(live: LiveStack, name: str):
    result = run_scenario(live.stack, name)
    assert result.passed, result.to_json()


def _sharded(live: LiveStack, tmp_path: Path, *names: str) -> list[str]:
    """``atctl chaos run NAMES --stacks 2``, planned as if each took 60 s, so that the plan shards them."""
    durations = tmp_path / "durations.json"
    durations.write_text(json.dumps({"experiments": [{"name": n, "duration_s": 60.0} for n in names]}))
    return _atctl(live, "chaos", "run", *names, "--stacks", "2", "--durations", str(durations), "--format", "json")


def assert_extra_stack_gone(live: LiveStack, stderr: str) -> None:
    """No supervisord, no program and no listening port of the run's extra stack is left."""
    extra = Stack.attach(Path(live.settings.state_dir) / EXTRA_DIR / "stack-2")
    assert f"offset {extra.settings.port_offset}" in stderr, stderr
    assert "stack 2              down" in stderr, stderr
    assert not extra.is_running()
    left = [
        p.info for p in psutil.process_iter(["pid", "cmdline"]) if str(extra.paths.state_dir) in " ".join(p.info["cmdline"] or [])
    ]
    assert left == []
    held = [port for port in program_ports(extra.settings, extra.programs()) if not port_is_free(extra.settings.host, port)]
    assert held == []


def test_two_experiments_sharded_over_two_stacks_ran_one_on_each_and_the_extra_stack_is_gone(live: LiveStack, tmp_path: Path):
    run = subprocess.run(
        _sharded(live, tmp_path, "redis-nearly-full", "exporter-down"), capture_output=True, text=True, timeout=240, check=False
    )

    assert run.returncode == 0, run.stderr[-3000:]
    results = {r["name"]: r for r in json.loads(run.stdout)["experiments"]}
    assert {name: r["status"] for name, r in results.items()} == {"redis-nearly-full": "passed", "exporter-down": "passed"}
    stacks = {r["stack"] for r in results.values()}
    assert len(stacks) == 2 and str(live.settings.state_dir) in stacks, stacks
    assert all(r["ran_alongside"] == [] for r in results.values())  # another stack's experiment is no neighbour
    assert_extra_stack_gone(live, run.stderr)
    assert_left_as_it_was(live)


def test_ctrl_c_during_a_sharded_run_rolls_back_and_stops_the_extra_stack(live: LiveStack, tmp_path: Path):
    process = subprocess.Popen(
        _sharded(live, tmp_path, "redis-nearly-full", "exporter-down"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as at a terminal (see above)
    )
    seen: list[str] = []
    on_stack_2 = None  # the experiment the plan put on the extra stack: Ctrl-C once its fault is in
    assert process.stderr is not None
    for line in process.stderr:
        seen.append(line)
        if "started on stack 2" in line:
            on_stack_2 = line.split()[1]
        if on_stack_2 and line.split()[1:2] == [on_stack_2] and "fault:" in line:
            break
    assert on_stack_2 and "fault:" in seen[-1], "".join(seen)

    process.send_signal(signal.SIGINT)  # the parent only: it forwards one SIGINT to each experiment
    stdout, rest = process.communicate(timeout=180)
    stderr = "".join(seen) + rest

    assert process.returncode == 1, stderr
    statuses = {r["name"]: r["status"] for r in json.loads(stdout)["experiments"]}
    assert statuses[on_stack_2] == "interrupted", stdout
    assert_extra_stack_gone(live, stderr)
    assert_left_as_it_was(live)
