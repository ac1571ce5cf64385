"""Are a stack's ports free? Checked before anything starts, so a clash is one clear error."""

from __future__ import annotations

import socket
from collections.abc import Iterable, Sequence
from pathlib import Path

import psutil

from agentic_trading.settings import Settings
from agentic_trading.stack.programs import Program, program_ports
from agentic_trading.stack.state import replace_settings


def port_is_free(host: str, port: int) -> bool:
    """True when a server could listen on host:port now.

    SO_REUSEADDR as servers set it, so connections lingering in TIME_WAIT from an
    earlier run do not count as "in use" while a listening socket does.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def who_holds(port: int) -> str | None:
    """ "pid 123 (redis-server)" listening on ``port``, or the connection using it as its local port."""
    try:
        connections = psutil.net_connections(kind="inet")
    except psutil.Error:
        return None
    local = [c for c in connections if c.laddr and c.laddr.port == port]
    # The listener first, then live connections, then ones lingering in TIME_WAIT.
    local.sort(key=lambda c: (c.status != psutil.CONN_LISTEN, c.status == psutil.CONN_TIME_WAIT))
    for conn in local:
        owner = f"pid {conn.pid} ({_process_name(conn.pid)})" if conn.pid else "another user's process"
        if conn.status == psutil.CONN_LISTEN:
            return owner
        peer = f"{conn.raddr.ip}:{conn.raddr.port}" if conn.raddr else "?"
        # Usually a client's local port: the kernel hands out ports in the ephemeral range.
        return f"a {conn.status} connection to {peer}" + (f" of {owner}" if conn.pid else "")
    return None


def _process_name(pid: int) -> str:
    try:
        return psutil.Process(pid).name()
    except psutil.Error:
        return "?"


def find_port_conflicts(settings: Settings, programs: Iterable[Program], ignore: Iterable[str] = ()) -> list[str]:
    """One line per taken port: ``4222 (nats) is held by pid 17 (nats-server)``.

    ``ignore``: programs whose ports we already hold (a running stack being updated).
    """
    skip = set(ignore)
    conflicts = []
    for port, component in sorted(program_ports(settings, (p for p in programs if p.name not in skip)).items()):
        if port_is_free(settings.host, port):
            continue
        holder = who_holds(port)
        conflicts.append(f"{port} ({component}) is held by {holder}" if holder else f"{port} ({component}) is taken")
    return conflicts


def ephemeral_port_range() -> tuple[int, int]:
    """The kernel's range for outgoing connections' local ports (Linux default 32768-60999)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def find_free_port_offset(
    settings: Settings, programs: Sequence[Program], candidates: Iterable[int] = range(1000, 23001, 1000)
) -> int | None:
    """The first offset at which every port of ``programs`` is free now (racy by nature: a hint).

    The default candidates keep every port (the highest base port is 9256) below the
    kernel's ephemeral range; see :func:`port_offset_problems`.
    """
    for offset in candidates:
        shifted = replace_settings(settings, port_offset=offset)
        if not find_port_conflicts(shifted, programs):
            return offset
    return None


def port_offset_problems(settings: Settings, ephemeral_low: int | None = None) -> list[str]:
    """Why this stack's port offset is unsafe: a shifted port on another base port, or ephemeral.

    Pure over the settings. Two stacks collide when one's ``base + offset`` equals a base port
    of the other (offset 4000 puts NATS's 4222 on the monitoring port 8222 of a default stack),
    and a port in the kernel's range for outgoing connections may be taken by any client.
    """
    offset = settings.port_offset
    base = {component: settings.port(component) - offset for component in settings.components}
    problems = []
    if offset > 0:
        by_port = {port: component for component, port in base.items()}
        for component, port in base.items():
            other = by_port.get(port + offset)
            if other is not None:
                problems.append(f"{component} would listen on {port + offset}, the port of {other} in a stack at offset 0")
    low = ephemeral_low if ephemeral_low is not None else ephemeral_port_range()[0]
    below = {component: port for component, port in base.items() if port < low}  # what the offset moves up
    highest_component = max(below, key=lambda c: below[c]) if below else None
    if highest_component is not None and base[highest_component] + offset >= low:
        highest = base[highest_component] + offset
        problems.append(
            f"{highest_component} would listen on {highest}, in the kernel's range for outgoing connections "
            f"(from {low}); keep the offset at most {low - 1 - base[highest_component]}"
        )
    return problems


def safe_port_offset_near(settings: Settings, ephemeral_low: int | None = None) -> int | None:
    """The nearest whole thousand that :func:`port_offset_problems` accepts (a hint for the message)."""
    candidates = sorted(range(1000, 40001, 1000), key=lambda o: (abs(o - settings.port_offset), o))
    for offset in candidates:
        if not port_offset_problems(replace_settings(settings, port_offset=offset), ephemeral_low):
            return offset
    return None
