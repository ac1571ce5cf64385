"""Extra stacks for a sharded chaos run (``atctl chaos run --stacks N``): chosen, started beside the run, always stopped.

The run's own stack (``--state-dir``) is the first; each extra one is a stack of the same
kind (its settings and program set, another port offset and a state directory of its own
under the first stack's, ``chaos-stacks/stack-K``), started with the same :class:`Stack` API
``atctl up`` uses, in a thread of its own so that experiments begin on the first stack at
once. :meth:`Fleet.stop` waits for any start still under way and stops every extra stack,
whatever happened: the caller runs it in a ``finally`` (a failure, Ctrl-C).

Port offsets: given by the user, or the first candidate at which every port is free now and
no port coincides with one of the first stack or of another extra stack (two offsets that
differ by the difference of two base ports put two programs on one port), and that
:func:`~agentic_trading.stack.ports.port_offset_problems` accepts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from agentic_trading.chaos.errors import NoFreeOffsetError
from agentic_trading.settings import Settings
from agentic_trading.stack import Program, Stack, select_programs
from agentic_trading.stack.ports import find_port_conflicts, port_offset_problems
from agentic_trading.stack.programs import program_ports, programs_named
from agentic_trading.stack.state import replace_settings

EXTRA_DIR = "chaos-stacks"
# Offsets ending in 00: whole hundreds up to the highest that keeps every port below the
# kernel's ephemeral range (port_offset_problems checks that too).
CANDIDATES = (*range(19000, 23501, 100), *range(1000, 19000, 100))
START_TIMEOUT_S = 90.0
# (stack index, message): "up in 18 s (offset 19000, .../stack-2)", "down"
FleetProgress = Callable[[int, str], None]


def pick_offsets(
    settings: Settings, programs: Sequence[Program], count: int, candidates: Iterable[int] = CANDIDATES
) -> list[int]:
    """``count`` offsets for extra stacks: every port free now, none shared with the first stack or each other."""
    taken = set(program_ports(settings, programs))
    chosen: list[int] = []
    for offset in candidates:
        if len(chosen) == count:
            break
        shifted = replace_settings(settings, port_offset=offset)
        ports = set(program_ports(shifted, programs))
        if ports & taken or port_offset_problems(shifted) or find_port_conflicts(shifted, programs):
            continue
        chosen.append(offset)
        taken |= ports
    if len(chosen) < count:
        raise NoFreeOffsetError(
            f"found {len(chosen)} of {count} free port offsets for extra stacks: give them with --stack-offsets"
        )
    return chosen


def check_offsets(settings: Settings, programs: Sequence[Program], offsets: Sequence[int]) -> None:
    """Refuse user-given offsets that collide with the first stack, each other, or a base port."""
    taken = set(program_ports(settings, programs))
    for offset in offsets:
        shifted = replace_settings(settings, port_offset=offset)
        problems = port_offset_problems(shifted)
        ports = set(program_ports(shifted, programs))
        if ports & taken:
            problems.append(f"ports {', '.join(map(str, sorted(ports & taken)[:3]))} are another stack's of this run")
        if problems:
            raise NoFreeOffsetError(f"--stack-offsets {offset}: {'; '.join(problems)}")
        taken |= ports


@dataclass
class _Extra:
    index: int  # 1, 2, …: the first stack is 0
    stack: Stack
    thread: threading.Thread | None = None
    ready: bool = False
    error: str | None = None


@dataclass
class Fleet:
    """The extra stacks of one run; :meth:`start` them, poll :meth:`ready`/:meth:`failed`, always :meth:`stop`."""

    first: Stack
    progress: FleetProgress
    programs: list[str] | None = None  # the first stack's program set (None: every program)
    extras: list[_Extra] = field(default_factory=list)

    @classmethod
    def of(cls, first: Stack, offsets: Sequence[int], progress: FleetProgress) -> Fleet:
        record = first.record()
        fleet = cls(first, progress, record.programs if record else None)
        for index, offset in enumerate(offsets, start=1):
            state_dir = first.paths.state_dir / EXTRA_DIR / f"stack-{index + 1}"
            settings = replace_settings(first.settings, port_offset=offset, state_dir=state_dir)
            fleet.extras.append(_Extra(index, Stack(settings)))
        return fleet

    def stacks(self) -> list[Stack]:
        return [self.first, *(e.stack for e in self.extras)]

    def start(self) -> None:
        """Start every extra stack, each in a thread; returns at once."""
        for extra in self.extras:
            extra.thread = threading.Thread(target=self._up, args=(extra,), name=f"chaos-stack-{extra.index}", daemon=True)
            extra.thread.start()

    def _up(self, extra: _Extra) -> None:
        started = time.monotonic()
        where = f"offset {extra.stack.settings.port_offset}, {extra.stack.paths.state_dir}"
        self.progress(extra.index, f"starting ({where})")
        try:
            extra.stack.up(self.programs, timeout=START_TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001 - any failure: its experiments go to the first stack
            extra.error = f"{type(exc).__name__}: {exc}"
            self.progress(extra.index, f"did not start: {extra.error}")
            return
        extra.ready = True
        self.progress(extra.index, f"up in {time.monotonic() - started:.0f} s ({where})")

    def ready(self, index: int) -> bool:
        return index == 0 or self.extras[index - 1].ready

    def failed(self, index: int) -> str | None:
        return None if index == 0 else self.extras[index - 1].error

    def stop(self) -> None:
        """Wait for starts under way, then stop every extra stack that has a supervisord (also a half-started one)."""
        for extra in self.extras:
            if extra.thread is not None:
                extra.thread.join()
        for extra in self.extras:
            try:
                stopped = extra.stack.down()
                if stopped:
                    self.progress(extra.index, "down")
            except Exception as exc:  # noqa: BLE001 - go on stopping the others; say what is left
                self.progress(
                    extra.index, f"could not stop it: {exc}; run `atctl down --state-dir {extra.stack.paths.state_dir}`"
                )


def stop_leftovers(first: Stack, progress: Callable[[str], None]) -> None:
    """Stop extra stacks a killed run (SIGKILL) left running, before offsets are picked around them."""
    root = first.paths.state_dir / EXTRA_DIR
    for state_dir in sorted(root.glob("stack-*")) if root.is_dir() else []:
        stack = Stack(state_dir=state_dir)
        if stack.is_running():
            stack.down()
            progress(f"stopped the stack in {state_dir}, left running by an earlier run")


def programs_of(stack: Stack) -> list[Program]:
    """The programs the first stack runs (what each extra stack starts too)."""
    record = stack.record()
    return programs_named(record.programs) if record else select_programs(None)


def label(stack: Stack) -> str:
    """How a report names a stack: its state directory."""
    return str(Path(stack.paths.state_dir))
