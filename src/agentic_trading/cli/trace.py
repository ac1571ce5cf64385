"""``atctl trace CORRELATION_ID``: one signal through every service, ending with its decision."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from agentic_trading.cli.common import (
    DebugOption,
    PortOffsetOption,
    StateDirOption,
    console,
    err_console,
    merge_options,
    settings_from,
)
from agentic_trading.cli.stack import OutputFormat
from agentic_trading.stack.errors import NoStackError
from agentic_trading.stack.paths import StackPaths
from agentic_trading.stack.trace import Trace, wait_for_trace


def trace_table(trace: Trace) -> Table:
    """time, service, event, signal_id, details; one signal's id goes in the title instead of every row."""
    signal_ids = {event.signal_id for event in trace.events}
    one_signal = len(signal_ids) == 1 and None not in signal_ids
    title = f"Trace {trace.correlation_id}" + (f" · signal {next(iter(signal_ids))}" if one_signal else "")
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("time", no_wrap=True, min_width=12)
    table.add_column("service", no_wrap=True)
    table.add_column("event", no_wrap=True)
    if not one_signal:
        table.add_column("signal_id", overflow="fold")
    table.add_column("details", overflow="fold", ratio=1)
    for event in trace.events:
        when = event.ts.strftime("%H:%M:%S.%f")[:-3] if event.ts else "?"
        style = "bold green" if event.is_decision else "red" if event.level in ("error", "critical") else None
        cells = [when, event.service, event.event]
        if not one_signal:
            cells.append(event.signal_id or "")
        table.add_row(*cells, event.details(), style=style)
    return table


def trace(
    ctx: typer.Context,
    correlation_id: Annotated[str, typer.Argument(help="The X-Correlation-ID the gateway answered with.")],
    timeout: Annotated[
        float, typer.Option("--timeout", min=0, help="Seconds to wait for the orchestrator's decision line.")
    ] = 5.0,
    output: Annotated[OutputFormat, typer.Option("--format", help="table or json.")] = OutputFormat.table,
    state_dir: StateDirOption = None,
    port_offset: PortOffsetOption = None,
    debug: DebugOption = False,
) -> None:
    """Follow one signal through all services' logs, sorted by time, ending with the decision.

    Exit code 1 when no decision was logged within --timeout.
    """
    options = merge_options(ctx, state_dir, port_offset, debug)
    paths = StackPaths.of(settings_from(options).state_dir)
    if not paths.log_dir.is_dir():
        raise NoStackError(paths.state_dir, "no logs")
    with err_console.status(f"Reading logs for {escape(correlation_id)}…"):
        result = wait_for_trace(paths.log_dir, correlation_id, timeout=timeout)
    decision = result.decision
    if output is OutputFormat.json:
        typer.echo(json.dumps(result.to_dict(), indent=2, default=str))
    elif result.events:
        console.print(trace_table(result))
    if decision is None:
        seen = f"{len(result.events)} lines from {', '.join(result.services)}" if result.events else "no lines"
        err_console.print(
            f"[bold red]No decision for {escape(correlation_id)}[/] after {timeout:g} s ({seen}). "
            "Is the orchestrator running? (`atctl status`)",
            soft_wrap=True,
        )
        raise typer.Exit(1)
    if output is OutputFormat.table:
        when = decision.ts.isoformat() if decision.ts else "?"
        console.print(f"[bold green]decision[/] {escape(decision.details())} [dim](at {when})[/]", soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command()(trace)
