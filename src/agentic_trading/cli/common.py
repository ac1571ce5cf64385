"""What every command shares: the global options, settings resolution and error reporting.

Error reporting happens once, for every command, in :class:`ReportingGroup` (the ``atctl``
app's group class): any :class:`~agentic_trading.errors.AgenticTradingError` a command
raises becomes one red line on stderr and the error's ``exit_code``; with ``--debug``
(before or after the command) it propagates with its traceback instead. It also installs the
CLI's log output for the command (``console_log.py``): library lines on stderr, warnings and
above, every line with ``--debug``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from agentic_trading.cli.console_log import configure_console_logging, console_logging
from agentic_trading.cli.shared_options import option, shared_options
from agentic_trading.errors import AgenticTradingError
from agentic_trading.observability.durations import format_age
from agentic_trading.settings import Settings, load_settings
from agentic_trading.stack import Stack, StackError
from agentic_trading.stack.programs import PROGRAM_NAMES

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

StateDirOption = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        help="The stack's state directory (configs, data, logs). Default: AT_STATE_DIR or .atctl",
        show_default=False,
    ),
]
PortOffsetOption = Annotated[
    int | None,
    typer.Option(
        "--port-offset",
        min=0,
        max=50000,
        help="Added to every port, to run a second stack beside another. Default: AT_PORT_OFFSET or 0",
        show_default=False,
    ),
]


TEXT = "text"
JSON = "json"
# Older words of some commands (status/trace/summary: table; logs: pretty), still accepted as text.
FORMAT_ALIASES = {"table": TEXT, "pretty": TEXT}


def format_parser(*choices: str) -> Callable[[str], str]:
    """``--format``'s words: ``text`` and ``json`` on every command (plus ``junit`` on verify).

    The old words in :data:`FORMAT_ALIASES` are accepted as ``text`` but no longer listed.
    """

    def parse(value: str) -> str:
        value = FORMAT_ALIASES.get(value, value)
        if value not in choices:
            raise typer.BadParameter(f"{value!r} is not one of {', '.join(choices)}")
        return value

    return parse


def format_option(help: str, *choices: str) -> Any:
    """A ``--format`` option over ``choices`` (default: text, json)."""
    words = choices or (TEXT, JSON)
    return typer.Option("--format", parser=format_parser(*words), metavar="<" + "|".join(words) + ">", help=help)


FormatOption = Annotated[str, format_option("text (a table) or json (one object).")]
# Where merge_options leaves a command's --debug for ReportingGroup (click's ctx.meta is
# one dict shared by a command's context and all its parents).
DEBUG_META_KEY = "agentic_trading.debug"
# Set while ReportingGroup's console logging is installed: a command's --debug then shows debug lines.
CONSOLE_LOG_META_KEY = "agentic_trading.console_log"

DebugOption = Annotated[
    bool, typer.Option("--debug", help="Show tracebacks instead of one-line errors, and debug log lines (on stderr).")
]


def complete_program(incomplete: str) -> list[str]:
    return [name for name in PROGRAM_NAMES if name.startswith(incomplete)]


ServiceArgument = Annotated[
    str,
    typer.Argument(
        help="Program name: " + ", ".join(PROGRAM_NAMES),
        autocompletion=complete_program,
        show_default=False,
    ),
]


@dataclass
class GlobalOptions:
    state_dir: Path | None = None
    port_offset: int | None = None
    debug: bool = False


def merge_options(ctx: typer.Context, state_dir: Path | None, port_offset: int | None, debug: bool) -> GlobalOptions:
    """Command options win over the same options given before the command (``atctl --debug up``)."""
    parent = ctx.obj if isinstance(ctx.obj, GlobalOptions) else GlobalOptions()
    merged = GlobalOptions(
        state_dir=state_dir if state_dir is not None else parent.state_dir,
        port_offset=port_offset if port_offset is not None else parent.port_offset,
        debug=debug or parent.debug,
    )
    ctx.meta[DEBUG_META_KEY] = merged.debug
    if merged.debug and ctx.meta.get(CONSOLE_LOG_META_KEY):
        configure_console_logging(debug=True)  # ReportingGroup puts the configuration before it back
    return merged


# Every command that reads a stack takes ``options: GlobalOptions`` (these three, merged with the
# ones given before the command) instead of declaring --state-dir, --port-offset and --debug.
stack_options = shared_options(
    "options",
    [option("state_dir", StateDirOption), option("port_offset", PortOffsetOption), option("debug", DebugOption, False)],
    merge_options,
)
# A command that reads no stack: only --debug (recorded for ReportingGroup's error report).
debug_option = shared_options(
    "options", [option("debug", DebugOption, False)], functools.partial(merge_options, state_dir=None, port_offset=None)
)


def _path_option(name: str, flag: str, help: str, shown_default: str) -> inspect.Parameter:
    return option(name, Annotated[Path | None, typer.Option(flag, help=help, show_default=shown_default)])


# The observability tree a command reads (atctl lint, atctl verify): ``tree`` holds
# ``root`` and the overrides, as ``load_tree`` and ``Sources.defaults`` take them.
tree_options = shared_options(
    "tree",
    [
        _path_option("source", "--source", "The observability tree to read.", "the repository's observability/"),
        _path_option("rules_dir", "--rules-dir", "Rules tree: alerts/, rules/, tests/.", "SOURCE/prometheus"),
        _path_option("catalog", "--catalog", "The metric catalog.", "SOURCE/metrics.yaml"),
        _path_option("dashboards_dir", "--dashboards-dir", "Grafana dashboard JSON files.", "SOURCE/grafana_dashboards"),
        _path_option("runbooks_dir", "--runbooks-dir", "One <AlertName>.md per alert.", "SOURCE/../docs/runbooks"),
    ],
    lambda ctx, source, **overrides: {"root": source, **overrides},
)


def settings_from(options: GlobalOptions) -> Settings:
    overrides: dict[str, Any] = {}
    if options.state_dir is not None:
        overrides["state_dir"] = options.state_dir
    if options.port_offset is not None:
        overrides["port_offset"] = options.port_offset
    try:
        return load_settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise StackError(f"Invalid settings ({problems}): fix the AT_* environment or the options") from exc


def attach_stack(options: GlobalOptions) -> Stack:
    """The stack recorded in the state directory; its own ports, whatever --port-offset says."""
    settings = settings_from(options)
    stack = Stack.attach(settings.state_dir, settings)
    if options.port_offset is not None and options.port_offset != stack.settings.port_offset:
        err_console.print(
            f"[yellow]note:[/] the stack in {escape(str(stack.paths.state_dir))} runs with port offset "
            f"{stack.settings.port_offset}; --port-offset {options.port_offset} is ignored"
        )
    return stack


def report_error(error: AgenticTradingError) -> typer.Exit:
    """Print ``error`` as one red line on stderr; the :class:`typer.Exit` to raise with its code."""
    err_console.print(f"[bold red]error:[/] {escape(str(error))}", soft_wrap=True)
    return typer.Exit(error.exit_code)


class ReportingGroup(TyperGroup):
    """The ``atctl`` group: known errors of any command become one red line and their exit code.

    ``--debug`` given before the command (``ctx.obj``) or after it (``merge_options``
    records it in ``ctx.meta``) lets the error through with its traceback. Log lines go to
    stderr while the command runs (:func:`~agentic_trading.cli.console_log.console_logging`).
    """

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            with console_logging(debug=bool(ctx.params.get("debug"))):
                ctx.meta[CONSOLE_LOG_META_KEY] = True
                try:
                    return super().invoke(ctx)
                finally:
                    ctx.meta.pop(CONSOLE_LOG_META_KEY, None)
        except AgenticTradingError as exc:
            root_debug = isinstance(ctx.obj, GlobalOptions) and ctx.obj.debug
            if root_debug or ctx.meta.get(DEBUG_META_KEY, False):
                raise
            raise report_error(exc) from None


def format_uptime(seconds: int | None) -> str:
    return "-" if seconds is None else format_age(seconds)
