"""``atctl stop|start|restart|kill|pause|resume SERVICE``: one program at a time (chaos by hand)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from agentic_trading.cli.common import (
    DebugOption,
    PortOffsetOption,
    ServiceArgument,
    StateDirOption,
    attach_stack,
    console,
    err_console,
    merge_options,
)

TimeoutOption = Annotated[float, typer.Option("--timeout", min=1, help="Seconds to wait until it is healthy.")]


def stop(
    ctx: typer.Context,
    service: ServiceArgument,
    state_dir: StateDirOption = None,
    port_offset: PortOffsetOption = None,
    debug: DebugOption = False,
) -> None:
    """Stop a program gracefully (SIGTERM, SIGKILL after 10 s). It stays stopped until `atctl start`."""
    options = merge_options(ctx, state_dir, port_offset, debug)
    stack = attach_stack(options)
    with err_console.status(f"Stopping {escape(service)}…"):
        stack.stop(service)
    console.print(f"Stopped {escape(service)}. `atctl start {escape(service)}` starts it again.")


def start(
    ctx: typer.Context,
    service: ServiceArgument,
    timeout: TimeoutOption = 30.0,
    state_dir: StateDirOption = None,
    port_offset: PortOffsetOption = None,
    debug: DebugOption = False,
) -> None:
    """Start a stopped program and wait until it is healthy."""
    options = merge_options(ctx, state_dir, port_offset, debug)
    stack = attach_stack(options)
    with err_console.status(f"Starting {escape(service)}…"):
        status = stack.start(service, timeout=timeout)
    console.print(f"{escape(service)} is running (pid {status.pid}) and healthy.")


def restart(
    ctx: typer.Context,
    service: ServiceArgument,
    timeout: TimeoutOption = 30.0,
    state_dir: StateDirOption = None,
    port_offset: PortOffsetOption = None,
    debug: DebugOption = False,
) -> None:
    """Stop a program gracefully, start it again and wait until it is healthy."""
    options = merge_options(ctx, state_dir, port_offset, debug)
    stack = attach_stack(options)
    with err_console.status(f"Restarting {escape(service)}…"):
        status = stack.restart(service, timeout=timeout)
    console.print(f"{escape(service)} restarted (pid {status.pid}) and healthy.")


def kill(
    ctx: typer.Context,
    service: ServiceArgument,
    state_dir: StateDirOption = None,
    port_offset: PortOffsetOption = None,
    debug: DebugOption = False,
) -> None:
    """SIGKILL a program, as a crash would; supervisord restarts it."""
    options = merge_options(ctx, state_dir, port_offset, debug)
    stack = attach_stack(options)
    pid = stack.kill(service)
    console.print(f"Sent SIGKILL to {escape(service)} (pid {pid}); supervisord restarts it (`atctl status`).")


def pause(
    ctx: typer.Context,
    service: ServiceArgument,
    state_dir: StateDirOption = None,
    port_offset: PortOffsetOption = None,
    debug: DebugOption = False,
) -> None:
    """SIGSTOP a program: it keeps its sockets but answers nothing (a hang) until resumed."""
    options = merge_options(ctx, state_dir, port_offset, debug)
    stack = attach_stack(options)
    stack.pause(service)
    console.print(f"Paused {escape(service)} (SIGSTOP). `atctl resume {escape(service)}` continues it.")


def resume(
    ctx: typer.Context,
    service: ServiceArgument,
    state_dir: StateDirOption = None,
    port_offset: PortOffsetOption = None,
    debug: DebugOption = False,
) -> None:
    """SIGCONT a paused program."""
    options = merge_options(ctx, state_dir, port_offset, debug)
    stack = attach_stack(options)
    stack.resume(service)
    console.print(f"Resumed {escape(service)} (SIGCONT).")


def _examples(name: str, note: str) -> str:
    return f"""
Examples:

  atctl {name} gateway        # {note}
  atctl {name} agent-risk --state-dir /tmp/stack2
"""


_NOTES = {
    "stop": "stays stopped until `atctl start`",
    "start": "returns once it is healthy",
    "restart": "stop, then start and wait",
    "kill": "SIGKILL; supervisord restarts it",
    "pause": "SIGSTOP: hangs, holding its sockets",
    "resume": "SIGCONT",
}


def register(app: typer.Typer) -> None:
    for command in (stop, start, restart, kill, pause, resume):
        app.command(epilog=_examples(command.__name__, _NOTES[command.__name__]))(command)
