"""``atctl trace ID``: one signal through every service, ending with its decision.

ID is the ``signal_id`` or the ``correlation_id`` of the gateway's answer: both show the
same trace. The signal is found in Redis (or the gateway's recent log) and only the log
lines around its time are read (:mod:`agentic_trading.stack.trace_lookup`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.text import Text

from agentic_trading.cli.common import JSON, TEXT, FormatOption, GlobalOptions, attach_stack, console, err_console, stack_options
from agentic_trading.cli.layout import record_lines, terminal_width
from agentic_trading.credentials import ADMIN, redis_url
from agentic_trading.stack.trace import TraceEvent
from agentic_trading.stack.trace_lookup import TraceResult, find_trace, quick_redis

EXAMPLES = """
Examples:

  atctl trace readme-1                    # the correlation id of a 200 answer
  atctl trace sig_731e2281a4284abfde25f4  # its signal_id: the same trace
  atctl trace readme-1 --format json | jq .decision

Exit codes: 0 decided, 1 found but no decision within --timeout (stalled),
2 no signal has this id (answered at once) or no stack.
"""


def iso_time(value: Any) -> str:
    """An epoch number (``decided_at``) or a datetime as ISO 8601 UTC with milliseconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = datetime.fromtimestamp(value, UTC)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return str(value)


def event_details(event: TraceEvent) -> str:
    """``key=value`` for the event's own fields; times (``*_at``) as ISO 8601."""
    parts = []
    for key, value in event.fields.items():
        if key.endswith("_at"):
            shown = iso_time(value)
        elif isinstance(value, str):
            shown = value
        else:
            shown = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        parts.append(f"{key}={shown}")
    return " ".join(parts)


def trace_lines(result: TraceResult, width: int) -> list[tuple[str, str | None]]:
    """(line, style) pairs: a title, then each event's head line and its details below."""
    target, trace = result.target, result.trace
    title = f"Trace {trace.correlation_id}"
    if target.signal_id:
        title += f" · signal {target.signal_id}"
    lines: list[tuple[str, str | None]] = [(line, "bold") for line in record_lines(title, "", width)]
    for event in trace.events:
        style = "bold green" if event.is_decision else "red" if event.level in ("error", "critical") else None
        head = f"{iso_time(event.ts) if event.ts else '?'} {event.service} {event.event}"
        lines += [(line, style) for line in record_lines(head, event_details(event), width)]
    return lines


@stack_options
def trace(
    options: GlobalOptions,
    ident: Annotated[
        str,
        typer.Argument(metavar="ID", help="The signal_id or correlation_id from the gateway's answer.", show_default=False),
    ],
    timeout: Annotated[float, typer.Option("--timeout", min=0, help="Seconds to wait for the decision of a known signal.")] = 5.0,
    output: FormatOption = TEXT,
) -> None:
    """Follow one signal through all services' logs, in time order, ending with the decision."""
    stack = attach_stack(options)
    client = quick_redis(redis_url(stack.settings, ADMIN))
    try:
        with err_console.status(f"Looking for {escape(ident)}…"):
            result = find_trace(ident, stack.paths.log_dir, client, timeout=timeout)
    finally:
        client.close()
    for note in result.notes:
        err_console.print(f"[yellow]note:[/] {escape(note)}", soft_wrap=True)
    _show(result, output)
    if result.target.decision is None and result.trace.decision is None:
        seen = f"{len(result.trace.events)} lines from {', '.join(result.trace.services)}" if result.trace.events else "no lines"
        err_console.print(
            f"[bold red]No decision for {escape(ident)}[/] after {timeout:g} s ({seen}): the signal stalled. "
            "Is the orchestrator running? (`atctl status`)",
            soft_wrap=True,
        )
        raise typer.Exit(1)


def _show(result: TraceResult, output: str) -> None:
    decision = result.target.decision
    if output == JSON:
        body = result.trace.to_dict()
        body["signal_id"] = result.target.signal_id
        body["correlation_ids"] = sorted(result.target.correlation_ids)
        if decision is not None:
            body["decision"] = {**decision, "decided_at": iso_time(decision.get("decided_at"))}
        typer.echo(json.dumps(body, indent=2, default=str))
        return
    width = terminal_width()
    for line, style in trace_lines(result, width):
        console.print(Text(line, style=style or ""), soft_wrap=True)
    if decision is not None:
        summary = f"decision {decision.get('decision')} ({decision.get('status')}) at {iso_time(decision.get('decided_at'))}"
        for line in record_lines(summary, "", width):
            console.print(Text(line, style="bold green"), soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command(epilog=EXAMPLES)(trace)
