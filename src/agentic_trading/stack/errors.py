"""What can go wrong with a local stack, each error saying what to do about it.

The CLI prints ``str(error)`` as one red line and exits with ``error.exit_code``;
Python callers (test fixtures, chaos experiments) catch :class:`StackError`.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from pathlib import Path

from agentic_trading.errors import AgenticTradingError


class StackError(AgenticTradingError):
    """Base of every known stack failure; the message names the thing and the fix."""

    exit_code = 1


class NoStackError(StackError):
    """There is no running stack in the state directory."""

    exit_code = 2

    def __init__(self, state_dir: Path, detail: str = ""):
        self.state_dir = state_dir
        why = f" ({detail})" if detail else ""
        super().__init__(f"No stack in {state_dir}{why}: start one with `atctl up`")


class StackConflictError(StackError):
    """A stack already runs in this state directory with different settings."""


class MissingRequirementError(StackError):
    """A binary or Python module a program needs is not installed (or not written yet)."""


class UnknownProgramError(StackError):
    """A program name that is not in the stack; names the closest ones (a typo is the usual cause)."""

    exit_code = 2

    def __init__(self, name: str, known: Sequence[str]):
        self.name = name
        close = difflib.get_close_matches(name, list(known), n=2, cutoff=0.6)
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        super().__init__(f"No program named {name!r} in this stack: {hint}known: {', '.join(known) or 'none'}")


class PortOffsetError(StackError):
    """A port offset that would put this stack on another stack's ports or in the ephemeral range."""

    exit_code = 2

    def __init__(self, port_offset: int, problems: Sequence[str], suggested_offset: int | None):
        example = f": try --port-offset {suggested_offset}" if suggested_offset is not None else ""
        super().__init__(f"Port offset {port_offset} cannot be used ({'; '.join(problems)}){example}")


class PortInUseError(StackError):
    """Some of the stack's ports are taken by other processes."""

    def __init__(self, conflicts: Sequence[str], port_offset: int, suggested_offset: int | None = None):
        self.conflicts = list(conflicts)
        example = f" (all free now: --port-offset {suggested_offset})" if suggested_offset is not None else ""
        super().__init__(
            "Ports in use: "
            + "; ".join(self.conflicts)
            + f". Stop what holds them, or run this stack on other ports with --port-offset"
            f" (now {port_offset}){example}"
        )


class SupervisorError(StackError):
    """supervisord refused or failed a request."""


class StartTimeoutError(StackError):
    """Some programs did not become healthy before the deadline."""

    def __init__(self, unhealthy: Mapping[str, str], timeout: float, log_dir: Path):
        self.unhealthy = dict(unhealthy)
        names = ", ".join(f"{name} ({why})" for name, why in self.unhealthy.items())
        super().__init__(f"Not healthy after {timeout:g} s: {names}. Logs: {log_dir} (`atctl logs NAME`)")


class ProgramFailedError(StartTimeoutError):
    """A program gave up starting (supervisord state FATAL): waiting longer will not help."""

    def __init__(self, unhealthy: Mapping[str, str], log_dir: Path):
        self.unhealthy = dict(unhealthy)
        names = ", ".join(f"{name} ({why})" for name, why in self.unhealthy.items())
        StackError.__init__(self, f"Could not start: {names}. Logs: {log_dir} (`atctl logs NAME`)")
