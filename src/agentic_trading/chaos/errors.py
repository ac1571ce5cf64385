"""What can go wrong while running chaos experiments and scenarios, each error saying what to do.

The CLI prints ``str(error)`` as one red line and exits with ``error.exit_code``: 2 when
nothing could be run (a broken experiment file, no stack, a kernel that cannot partition),
1 when an experiment ran and the system did not behave (those are reported, not raised).
"""

from __future__ import annotations

from pathlib import Path

from agentic_trading.errors import AgenticTradingError


class ChaosError(AgenticTradingError):
    """Base of every known chaos failure."""

    exit_code = 1


class ExperimentFileError(ChaosError):
    """An experiment file cannot be used; the message names the file, the field and the fix."""

    exit_code = 2

    def __init__(self, path: Path | str, problem: str):
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class UnknownExperimentError(ChaosError):
    exit_code = 2

    def __init__(self, names: list[str], known: list[str]):
        super().__init__(f"no experiment named {', '.join(names)}; known: {', '.join(known)} (atctl chaos list)")


class FaultUnavailableError(ChaosError):
    """This machine cannot inject the fault (no iptables, no cgroup v2, not root, …)."""

    exit_code = 2


class NoFreeOffsetError(ChaosError):
    """No collision-safe, free port offset for an extra stack of a sharded run (``--stacks``)."""

    exit_code = 2


class FaultError(ChaosError):
    """Injecting or repairing a fault failed; the stack may need `atctl status`."""


class ScenarioFailed(ChaosError):
    """A scenario's assertion did not hold; the message says which and what was seen."""
