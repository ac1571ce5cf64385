"""The CPU spin's raised priority: set on a real process, put back, and a refusal says what to do.

HighCPU's fault is a spin that holds a whole core; on a shared machine it can only do so with a
raised scheduling weight (chaos/high-cpu.yaml). These tests change the nice value of a child
process of their own, never a program of a stack.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentic_trading.chaos.errors import FaultError, FaultUnavailableError
from agentic_trading.chaos.pressure import Priority, raise_priority, restore_priority


@pytest.fixture
def child() -> Iterator[subprocess.Popen[bytes]]:
    """A process that waits on its stdin until the test closes it, in a session (and autogroup) of its own."""
    command = [sys.executable, "-c", "import sys; sys.stdin.read()"]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, start_new_session=True)
    try:
        yield process
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=10)


def _group_nice(pid: int) -> int | None:
    autogroup = Path(f"/proc/{pid}/autogroup")
    return int(autogroup.read_text().split("nice")[1]) if autogroup.exists() else None


def test_the_thread_and_its_group_are_raised_for_the_spin_and_put_back_after(child: subprocess.Popen[bytes]) -> None:
    if os.geteuid() != 0:
        pytest.skip("raising a priority needs root (CAP_SYS_NICE), as the fault itself does")
    before = Priority(os.getpriority(os.PRIO_PROCESS, child.pid), _group_nice(child.pid))
    old = raise_priority(child.pid, -5)
    assert old == before
    assert os.getpriority(os.PRIO_PROCESS, child.pid) == -5
    if before.group is not None:  # a kernel with sched_autogroup: the child's own session's group
        assert _group_nice(child.pid) == -5
    restore_priority(child.pid, old)
    assert Priority(os.getpriority(os.PRIO_PROCESS, child.pid), _group_nice(child.pid)) == before


def test_a_refused_priority_says_to_run_as_root(child: subprocess.Popen[bytes], monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(which: int, who: int, value: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "setpriority", refuse)
    with pytest.raises(FaultUnavailableError, match="run as root") as caught:
        raise_priority(child.pid, -10)
    assert caught.value.exit_code == 2


def test_a_process_that_is_gone_cannot_spin_and_needs_no_restore() -> None:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(timeout=10)
    with pytest.raises(FaultError, match="no process"):
        raise_priority(process.pid, -10)
    restore_priority(process.pid, Priority(0, 0))  # nothing to put back: no error
