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


def ports_in_ephemeral_range(settings: Settings, programs: Iterable[Program]) -> list[int]:
    """Ports a client connection may already hold by chance: a server then cannot bind them.

    With a large --port-offset, a connection from any process (a Prometheus scrape, a NATS
    client) can be given one of the stack's ports as its local port, and the program that
    should listen there fails with "address already in use" until that connection closes.
    """
    low, high = ephemeral_port_range()
    return sorted(port for port in program_ports(settings, programs) if low <= port <= high)


def find_free_port_offset(
    settings: Settings, programs: Sequence[Program], candidates: Iterable[int] = range(1000, 23001, 1000)
) -> int | None:
    """The first offset at which every port of ``programs`` is free now (racy by nature: a hint).

    The default candidates keep every port (the highest base port is 9256) below the
    kernel's ephemeral range; see :func:`ports_in_ephemeral_range`.
    """
    for offset in candidates:
        shifted = replace_settings(settings, port_offset=offset)
        if not find_port_conflicts(shifted, programs):
            return offset
    return None
