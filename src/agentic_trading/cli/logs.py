"""``atctl logs [SERVICE] [-f] [-n 50]``: the programs' logs, one or all interleaved by time."""

from __future__ import annotations

import time
import zlib
from typing import Annotated

import typer
from rich.text import Text

from agentic_trading.cli.common import (
    DebugOption,
    PortOffsetOption,
    StateDirOption,
    complete_program,
    console,
    merge_options,
    settings_from,
)
from agentic_trading.stack.errors import NoStackError, StackError
from agentic_trading.stack.logs import LogFollower, LogLine, last_lines, log_files, service_of
from agentic_trading.stack.paths import StackPaths

FOLLOW_INTERVAL_S = 0.25
_COLOURS = ("cyan", "magenta", "green", "yellow", "blue", "bright_cyan", "bright_magenta", "bright_green")


def _prefixed(line: LogLine, width: int) -> Text:
    colour = _COLOURS[zlib.crc32(line.service.encode()) % len(_COLOURS)]
    text = Text(f"{line.service:<{width}} | ", style=colour)
    text.append(line.text)
    return text


def logs(
    ctx: typer.Context,
    service: Annotated[
        str | None,
        typer.Argument(
            help="Program name; all programs, interleaved by time, when omitted.",
            autocompletion=complete_program,
            show_default=False,
        ),
    ] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines (Ctrl-C stops).")] = False,
    lines: Annotated[int, typer.Option("--lines", "-n", min=0, help="How many recent lines to show first.")] = 50,
    state_dir: StateDirOption = None,
    port_offset: PortOffsetOption = None,
    debug: DebugOption = False,
) -> None:
    """Show the programs' logs (JSON lines from the services, text from the daemons)."""
    options = merge_options(ctx, state_dir, port_offset, debug)
    paths = StackPaths.of(settings_from(options).state_dir)
    available = log_files(paths.log_dir)
    if not available:
        raise NoStackError(paths.state_dir, "no logs yet")
    if service is None:
        files = available
    else:
        if not paths.log_file(service).exists():
            names = ", ".join(service_of(p) for p in available)
            raise StackError(f"No log for {service!r} in {paths.log_dir}; programs with logs: {names}")
        files = [paths.log_file(service)]
    prefix = service is None
    width = max(len(service_of(p)) for p in files)

    def show(line: LogLine) -> None:
        if prefix:
            console.print(_prefixed(line, width), soft_wrap=True)
        else:
            console.print(Text(line.text), soft_wrap=True)

    follower = LogFollower(lambda: files if service else log_files(paths.log_dir))
    follower.read_new()  # position at the end before printing the tail: nothing is lost between
    for line in last_lines(files, lines):
        show(line)
    if not follow:
        return
    try:
        while True:
            for line in follower.read_new():
                show(line)
            time.sleep(FOLLOW_INTERVAL_S)
    except KeyboardInterrupt:
        return


def register(app: typer.Typer) -> None:
    app.command()(logs)
