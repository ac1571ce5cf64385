"""What a user sees of each program: supervisord's state, paused or not, and its health probe."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from agentic_trading.settings import Settings
from agentic_trading.stack.errors import StackError
from agentic_trading.stack.health import check_all
from agentic_trading.stack.process_state import describe_state, is_paused
from agentic_trading.stack.programs import PROGRAMS, Program, get_program
from agentic_trading.stack.supervisor import RUNNING, ProcessInfo

PAUSED = "PAUSED"  # supervisord says RUNNING, but the process is stopped by SIGSTOP


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    state: str  # supervisord's state name, or PAUSED
    pid: int | None
    uptime_s: int | None
    healthy: bool
    health: str  # "ok", or what is wrong
    url: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def program_statuses(settings: Settings, infos: Sequence[ProcessInfo]) -> list[ComponentStatus]:
    """One status per program supervisord knows, in the program table's order; probes run concurrently."""
    infos = list(infos)
    order = {p.name: index for index, p in enumerate(PROGRAMS)}
    infos.sort(key=lambda info: (order.get(info.name, len(order)), info.name))
    running = [info for info in infos if info.state == RUNNING]
    paused = {info.name for info in running if is_paused(info.pid)}
    programs = {info.name: program_or_none(info.name) for info in infos}
    probed = {
        info.name: program.probe for info in running if (program := programs[info.name]) is not None and info.name not in paused
    }
    health = check_all(settings, probed)
    statuses = []
    for info in infos:
        program = programs[info.name]
        if info.name in paused:
            state, healthy, detail = PAUSED, False, f"paused (SIGSTOP): `atctl resume {info.name}`"
        elif info.name in health:
            state, healthy, detail = info.state, health[info.name].ok, health[info.name].detail
        elif info.state == RUNNING:
            state, healthy, detail = info.state, True, "running"
        else:
            state, healthy, detail = info.state, False, describe_state(info)
        statuses.append(
            ComponentStatus(
                name=info.name,
                state=state,
                pid=info.pid or None,
                uptime_s=info.uptime_s,
                healthy=healthy,
                health=detail,
                url=program.url(settings) if program else "",
            )
        )
    return statuses


def program_or_none(name: str) -> Program | None:
    """The program of the table named ``name``; None for one supervisord runs that the table does not know."""
    try:
        return get_program(name)
    except StackError:
        return None
