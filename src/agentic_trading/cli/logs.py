"""``atctl logs [SERVICE] [--level L] [--since 10m] [-f]``: the programs' logs, filtered, pretty or JSON."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from agentic_trading.cli.common import (
    JSON,
    TEXT,
    GlobalOptions,
    complete_program,
    console,
    format_option,
    settings_from,
    stack_options,
)
from agentic_trading.cli.layout import record_lines, terminal_width
from agentic_trading.cli.trace import iso_time
from agentic_trading.stack.errors import NoStackError, UnknownProgramError
from agentic_trading.stack.log_filter import LEVELS, LogFilter, now_utc, parse_level, parse_since
from agentic_trading.stack.log_window import lines_between
from agentic_trading.stack.logs import LogFollower, LogLine, interleave, last_lines, log_files, make_line, service_of
from agentic_trading.stack.paths import StackPaths
from agentic_trading.stack.trace import parse_ts

FOLLOW_INTERVAL_S = 0.25
DEFAULT_LINES = 50


_HEAD_KEYS = ("ts", "level", "service", "event")

EXAMPLES = """
Examples:

  atctl logs                                 # the last 50 lines of every program, by time
  atctl logs gateway -f                      # follow the gateway
  atctl logs --level warning --since 10m     # warnings and errors of the last 10 minutes
  atctl logs --service orchestrator --service agent-risk --format json | jq .event
"""


def pretty_lines(line: LogLine, width: int, service_width: int) -> list[str]:
    """A JSON line as ``time level service event`` and its fields indented below; text as is."""
    record = line.record
    if record is None:
        return [f"{line.service:<{service_width}} | {line.text}"]
    when = parse_ts(record.get("ts"))
    head = " ".join(
        [
            iso_time(when) if when else "-",
            str(record.get("level", "-")).ljust(7),
            line.service.ljust(service_width),
            str(record.get("event", "")),
        ]
    )
    details = " ".join(
        f"{key}={value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)}"
        for key, value in record.items()
        if key not in _HEAD_KEYS
    )
    return record_lines(head, details, width)


def json_line(line: LogLine) -> str:
    """The JSON line itself; a plain-text line as ``{"service": …, "message": …}``."""
    return line.text if line.record is not None else json.dumps({"service": line.service, "message": line.text})


@stack_options
def logs(
    options: GlobalOptions,
    service: Annotated[
        str | None,
        typer.Argument(
            help="Program name; all programs, interleaved by time, when omitted.",
            autocompletion=complete_program,
            show_default=False,
        ),
    ] = None,
    services: Annotated[
        list[str] | None,
        typer.Option("--service", "-s", help="Only these programs (repeat or comma-separate).", show_default=False),
    ] = None,
    level: Annotated[
        str | None, typer.Option("--level", help="Only lines of this level or above: " + ", ".join(LEVELS), show_default=False)
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only lines since: a duration (90s, 10m, 2h, 1d) or an ISO time.", show_default=False),
    ] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines (Ctrl-C stops).")] = False,
    lines: Annotated[
        int | None,
        typer.Option("--lines", "-n", min=0, help="How many recent lines to show first. Default: 50, all with --since."),
    ] = None,
    output: Annotated[
        str,
        format_option("text (time level program event, fields below) or json (one JSON object per line)."),
    ] = TEXT,
) -> None:
    """Show the programs' logs: every program interleaved by time, or some, filtered."""
    paths = StackPaths.of(settings_from(options).state_dir)
    available = log_files(paths.log_dir)
    if not available:
        raise NoStackError(paths.state_dir, "no logs yet")
    wanted = [name.strip() for value in [*(services or []), *([service] if service else [])] for name in value.split(",")]
    wanted = [name for name in wanted if name]
    files = available
    if wanted:
        known = [service_of(p) for p in available]
        for name in wanted:
            if not paths.log_file(name).exists():
                raise UnknownProgramError(name, known)
        files = [paths.log_file(name) for name in wanted]
    log_filter = LogFilter(
        min_level=parse_level(level) if level else None,
        since=parse_since(since, now_utc()) if since else None,
    )
    width = terminal_width()
    service_width = max(len(service_of(p)) for p in files)

    def show(line: LogLine) -> None:
        if not log_filter.matches(line):
            return
        if output == JSON:
            typer.echo(json_line(line))
        else:
            for text in pretty_lines(line, width, service_width):
                console.print(Text(text), soft_wrap=True)

    follower = LogFollower(lambda: files if wanted else log_files(paths.log_dir))
    follower.read_new()  # position at the end before printing the tail: nothing is lost between
    for line in _recent(files, log_filter, lines):
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


def _recent(files: list[Path], log_filter: LogFilter, count: int | None) -> list[LogLine]:
    """The last ``count`` matching lines; with --since, found by bisection rather than a whole read."""
    if log_filter.since is not None:
        far = now_utc() + timedelta(days=1)
        per_file = [[make_line(service_of(p), t) for t in lines_between(p, log_filter.since, far)] for p in files]
        matching = [line for line in interleave(per_file) if log_filter.matches(line)]
        return matching[-count:] if count is not None else matching
    count = DEFAULT_LINES if count is None else count
    # Filters drop lines: look further back so up to ``count`` remain.
    window = count if log_filter.min_level is None else max(count * 20, 2000)
    matching = [line for line in last_lines(files, window) if log_filter.matches(line)]
    return matching[-count:] if count > 0 else []


def register(app: typer.Typer) -> None:
    app.command(epilog=EXAMPLES)(logs)
