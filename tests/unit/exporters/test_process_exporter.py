"""The process exporter: per-program CPU, memory, up and restarts, from synthetic polls and a real supervisord."""

import os
import signal
import subprocess
import sys

import httpx
import psutil
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from _support import async_poll_until, poll_until
from agentic_trading.exporters.cpu import ProcessKey, TreeSample
from agentic_trading.exporters.processes import (
    ProcessCollector,
    ProcessPoller,
    ProcessTracker,
    SupervisedProcess,
    children_by_parent,
    descendants,
    figure_families,
    read_supervised_processes,
    service_name,
    supervisor_proxy,
)


def values(exposition: bytes, name: str) -> dict[str, float]:
    """service label -> value of one metric."""
    return {
        s.labels.get("service", ""): s.value
        for family in text_string_to_metric_families(exposition.decode())
        for s in family.samples
        if s.name == name
    }


def scrape(poller: ProcessPoller) -> bytes:
    registry = CollectorRegistry()
    registry.register(ProcessCollector(poller))
    return generate_latest(registry)


def tree(at: float, cpu_seconds: float, rss: int = 1000, pid: int = 10) -> TreeSample:
    return TreeSample(taken_at=at, wall_time=5000.0 + at, cpu_seconds={ProcessKey(pid, 1.0): cpu_seconds}, rss_bytes=rss)


@pytest.mark.parametrize(
    ("name", "group", "service"),
    [
        ("gateway", "gateway", "gateway"),  # [program:gateway]
        ("agent-risk_01", "agent-risk", "agent-risk"),  # numprocs
        ("agent-risk-1", "agent-risk", "agent-risk"),
        ("prometheus", "observability", "prometheus"),  # member of a [group:observability]
        ("agent-risk-checker", "agent-risk", "agent-risk-checker"),
    ],
)
def test_the_service_label_is_the_program_name(name, group, service):
    assert service_name(name, group) == service


def test_a_new_pid_while_running_is_a_restart_and_the_first_sight_is_not():
    tracker = ProcessTracker(cores=2)
    polls = [
        [SupervisedProcess("gateway", "gateway", 10, "RUNNING")],
        [SupervisedProcess("gateway", "gateway", 10, "RUNNING")],
        [SupervisedProcess("gateway", "gateway", 0, "BACKOFF")],
        [SupervisedProcess("gateway", "gateway", 11, "RUNNING")],
        [SupervisedProcess("gateway", "gateway", 12, "RUNNING")],
    ]
    seen = [tracker.observe(p, {}) for p in polls]
    assert [f[0].restarts for f in seen] == [0, 0, 0, 1, 2]
    assert [f[0].up for f in seen] == [True, True, False, True, True]


def test_cpu_needs_two_samples_and_a_stopped_program_uses_nothing():
    tracker = ProcessTracker(cores=2)
    running = [SupervisedProcess("orchestrator", "orchestrator", 10, "RUNNING")]
    first = tracker.observe(running, {"orchestrator": tree(0.0, 1.0, rss=5000)})[0]
    assert first.cpu_percent is None and first.memory_bytes == 5000
    second = tracker.observe(running, {"orchestrator": tree(2.0, 2.0, rss=6000)})[0]
    assert second.cpu_percent == 25.0 and second.memory_bytes == 6000
    stopped = tracker.observe([SupervisedProcess("orchestrator", "orchestrator", 0, "STOPPED")], {})[0]
    assert (stopped.up, stopped.cpu_percent, stopped.memory_bytes) == (False, 0.0, 0)


def test_the_processes_of_one_program_add_up_and_it_is_up_only_when_all_run():
    tracker = ProcessTracker(cores=2)
    processes = [
        SupervisedProcess("agent-risk_00", "agent-risk", 10, "RUNNING"),
        SupervisedProcess("agent-risk_01", "agent-risk", 11, "RUNNING"),
    ]
    tracker.observe(processes, {"agent-risk_00": tree(0, 1.0, pid=10), "agent-risk_01": tree(0, 1.0, pid=11)})
    figures = tracker.observe(processes, {"agent-risk_00": tree(1, 1.5, 100, pid=10), "agent-risk_01": tree(1, 1.5, 200, pid=11)})
    assert [(f.service, f.up, f.cpu_percent, f.memory_bytes) for f in figures] == [("agent-risk", True, 50.0, 300)]
    processes[1] = SupervisedProcess("agent-risk_01", "agent-risk", 0, "FATAL")
    assert tracker.observe(processes, {})[0].up is False


def test_a_saturated_single_thread_is_one_full_core_whatever_the_cores():
    """HighCPU reads the per-core figure: one spinning thread on 2 cores is 50 % of the
    machine (under the 90 % threshold forever) but 100 % of a core."""
    for cores in (1, 2, 8):
        tracker = ProcessTracker(cores=cores)
        processes = [SupervisedProcess("redis", "redis", 10, "RUNNING")]
        tracker.observe(processes, {"redis": tree(0, 5.0)})
        (figures,) = tracker.observe(processes, {"redis": tree(2, 7.0)})  # 2 CPU seconds in 2 s
        assert figures.cpu_core_percent == pytest.approx(100.0)
        assert figures.cpu_percent == pytest.approx(100.0 / cores)


def test_figures_make_a_valid_exposition_with_the_contract_names(promtool_check):
    tracker = ProcessTracker(cores=2)
    processes = [SupervisedProcess("gateway", "gateway", 10, "RUNNING"), SupervisedProcess("nats", "nats", 0, "STOPPED")]
    tracker.observe(processes, {"gateway": tree(0, 1.0)})
    registry = CollectorRegistry()

    class Figures:
        def collect(self):
            return figure_families(tracker.observe(processes, {"gateway": tree(1, 1.1)}))

    registry.register(Figures())
    exposition = generate_latest(registry)

    assert values(exposition, "container_cpu_usage_percent") == {"gateway": pytest.approx(5.0), "nats": 0.0}
    assert values(exposition, "process_cpu_core_usage_percent") == {"gateway": pytest.approx(10.0), "nats": 0.0}
    assert values(exposition, "container_memory_usage_bytes") == {"gateway": 1000, "nats": 0}
    assert values(exposition, "supervised_process_up") == {"gateway": 1, "nats": 0}
    assert values(exposition, "supervised_process_restarts_total") == {"gateway": 0, "nats": 0}
    promtool_check(exposition)


async def test_without_supervisord_it_says_so_and_serves_no_programs(tmp_path, promtool_check):
    poller = ProcessPoller(tmp_path / "no-supervisor.sock", cores=2)
    await poller.poll_once()
    exposition = scrape(poller)

    assert values(exposition, "process_exporter_supervisor_up") == {"": 0}
    assert values(exposition, "process_exporter_scrape_errors_total") == {"": 1}
    assert values(exposition, "supervised_process_up") == {}
    assert "no-supervisor.sock" in (await poller.readiness() or "")
    promtool_check(exposition)


async def test_a_real_supervisord_busy_program_idle_program_and_restart(supervisord):
    poller = ProcessPoller(supervisord.socket_path)

    async def cpu_of_spinner() -> float:
        await poller.poll_once()
        return values(scrape(poller), "container_cpu_usage_percent").get("spinner", 0.0)

    async def spinner_busy() -> float | None:
        cpu = await cpu_of_spinner()
        return cpu if cpu >= 2 else None

    # A spinning core is 50 % on two idle cores; a loaded machine gives it less, an idle program gets ~0.
    cpu = await async_poll_until(spinner_busy, timeout_s=10, interval_s=0.2, what="the spinner at 2 % CPU or more")
    exposition = scrape(poller)
    assert 2 <= cpu <= 100, exposition.decode()
    assert values(exposition, "container_cpu_usage_percent")["sleeper"] < min(cpu, 1)
    assert values(exposition, "container_memory_usage_bytes")["spinner"] > 1_000_000
    assert values(exposition, "supervised_process_up") == {"sleeper": 1, "spinner": 1, "worker": 1}

    sleeper_pid = next(p.pid for p in read_supervised_processes(supervisor_proxy(supervisord.socket_path)) if p.name == "sleeper")
    os.kill(sleeper_pid, signal.SIGKILL)

    async def sleeper_restarted() -> bool:
        await poller.poll_once()
        return values(scrape(poller), "supervised_process_restarts_total")["sleeper"] >= 1

    await async_poll_until(sleeper_restarted, timeout_s=10, interval_s=0.2, what="the sleeper's restart counted")
    restarts = values(scrape(poller), "supervised_process_restarts_total")
    assert restarts == {"sleeper": 1, "spinner": 0, "worker": 0}


def test_the_service_serves_valid_metrics_from_a_real_supervisord(supervisord, run_module, promtool_check):
    service = run_module(
        "agentic_trading.exporters.processes", "AT_PROCESS_EXPORTER_PORT", "--socket", str(supervisord.socket_path)
    )

    exposition = poll_until(
        lambda: (
            (body := httpx.get(f"{service.url}/metrics").content)
            and b'container_cpu_usage_percent{service="spinner"}' in body
            and body
        )
    )
    promtool_check(exposition)
    assert httpx.get(f"{service.url}/readyz").json()["ready"] is True

    service.process.terminate()
    assert service.process.wait(timeout=10) == 0, service.log_path.read_text()


def test_one_pass_over_proc_finds_the_same_trees_as_psutil(tmp_path):
    """children_by_parent + descendants (one /proc pass a poll) against psutil's children(recursive=True)."""
    odd = tmp_path / "a (b) c"  # a command name with spaces and parentheses, as /proc/PID/stat shows it
    odd.symlink_to(sys.executable)
    # Both block on the stdin pipe they share until the test closes it: alive exactly as long as needed.
    grandchild = (
        "import subprocess, sys; subprocess.Popen([sys.executable, '-c', 'import sys; sys.stdin.read()']); sys.stdin.read()"
    )
    parent = subprocess.Popen([str(odd), "-c", grandchild], stdin=subprocess.PIPE)
    try:
        poll_until(lambda: len(psutil.Process(parent.pid).children(recursive=True)) == 1, timeout_s=10, what="the grandchild")
        tree = children_by_parent()
        for pid in (os.getpid(), parent.pid):
            assert sorted(descendants(pid, tree)) == sorted(c.pid for c in psutil.Process(pid).children(recursive=True))
        assert len(descendants(parent.pid, tree)) == 1
    finally:
        for child in psutil.Process(parent.pid).children(recursive=True):
            child.kill()
        parent.kill()
        assert parent.stdin is not None
        parent.stdin.close()
        parent.wait(timeout=10)
