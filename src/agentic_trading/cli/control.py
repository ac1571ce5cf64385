"""``atctl stop|start|restart|kill|pause|resume SERVICE``: one program at a time (chaos by hand).

The six commands differ only in the :class:`~agentic_trading.stack.Stack` method they
call and what they say, so they are made from one table, :data:`CONTROLS`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from rich.markup import escape

from agentic_trading.cli.common import GlobalOptions, ServiceArgument, attach_stack, console, err_console, stack_options

TimeoutOption = Annotated[float, typer.Option("--timeout", min=1, help="Seconds to wait until it is healthy.")]


@dataclass(frozen=True)
class Control:
    """One command: ``Stack.<name>(service)``, then ``done`` (``{service}``, ``{result}``: what it returned)."""

    name: str
    help: str
    note: str  # the first example's comment
    done: str
    doing: str | None = None  # spinner text while it runs
    waits: bool = False  # takes --timeout: waits until the program is healthy

    def run(self, options: GlobalOptions, service: str, **timeout: float) -> None:
        stack = attach_stack(options)
        spinner = err_console.status(f"{self.doing} {escape(service)}…") if self.doing else contextlib.nullcontext()
        with spinner:
            result = getattr(stack, self.name)(service, **timeout)
        console.print(self.done.format(service=escape(service), result=result))

    def epilog(self) -> str:
        return f"""
Examples:

  atctl {self.name} gateway        # {self.note}
  atctl {self.name} agent-risk --state-dir /tmp/stack2
"""


CONTROLS = (
    Control(
        "stop",
        "Stop a program gracefully (SIGTERM, SIGKILL after 10 s). It stays stopped until `atctl start`.",
        "stays stopped until `atctl start`",
        "Stopped {service}. `atctl start {service}` starts it again.",
        doing="Stopping",
    ),
    Control(
        "start",
        "Start a stopped program and wait until it is healthy.",
        "returns once it is healthy",
        "{service} is running (pid {result.pid}) and healthy.",
        doing="Starting",
        waits=True,
    ),
    Control(
        "restart",
        "Stop a program gracefully, start it again and wait until it is healthy.",
        "stop, then start and wait",
        "{service} restarted (pid {result.pid}) and healthy.",
        doing="Restarting",
        waits=True,
    ),
    Control(
        "kill",
        "SIGKILL a program, as a crash would; supervisord restarts it.",
        "SIGKILL; supervisord restarts it",
        "Sent SIGKILL to {service} (pid {result}); supervisord restarts it (`atctl status`).",
    ),
    Control(
        "pause",
        "SIGSTOP a program: it keeps its sockets but answers nothing (a hang) until resumed.",
        "SIGSTOP: hangs, holding its sockets",
        "Paused {service} (SIGSTOP). `atctl resume {service}` continues it.",
    ),
    Control("resume", "SIGCONT a paused program.", "SIGCONT", "Resumed {service} (SIGCONT)."),
)


def command_for(control: Control) -> Callable[..., Any]:
    """The Typer command of ``control``: SERVICE, ``--timeout`` when it waits, the shared options."""
    if control.waits:

        def waiting(service: ServiceArgument, options: GlobalOptions, timeout: TimeoutOption = 30.0) -> None:
            control.run(options, service, timeout=timeout)

        return stack_options(waiting)

    def at_once(service: ServiceArgument, options: GlobalOptions) -> None:
        control.run(options, service)

    return stack_options(at_once)


def register(app: typer.Typer) -> None:
    for control in CONTROLS:
        app.command(control.name, help=control.help, epilog=control.epilog())(command_for(control))
