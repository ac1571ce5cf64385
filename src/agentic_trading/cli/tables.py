"""Rich renderings of stack state: status tables and the logs of what failed."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from agentic_trading.cli.common import format_uptime
from agentic_trading.stack import ComponentStatus, Stack


def _state_text(status: ComponentStatus) -> Text:
    style = "green" if status.state == "RUNNING" else "yellow" if status.state in ("STARTING", "PAUSED") else "red"
    return Text(status.state, style=style)


def _health_text(status: ComponentStatus) -> Text:
    return Text(status.health, style="green" if status.healthy else "red")


def status_table(statuses: Sequence[ComponentStatus], title: str | None = None) -> Table:
    """component, pid, state, uptime, health, URL."""
    table = Table(title=title, title_justify="left", header_style="bold")
    for column in ("component", "pid", "state", "uptime"):
        table.add_column(column, no_wrap=True)
    table.add_column("health", overflow="fold", ratio=1)
    table.add_column("URL", overflow="fold")
    for status in statuses:
        table.add_row(
            status.name,
            str(status.pid or "-"),
            _state_text(status),
            format_uptime(status.uptime_s),
            _health_text(status),
            status.url,
        )
    return table


def up_table(statuses: Sequence[ComponentStatus], title: str | None = None) -> Table:
    """component, state, URL: what `atctl up` shows once everything is healthy."""
    table = Table(title=title, title_justify="left", header_style="bold")
    for column in ("component", "state", "URL"):
        table.add_column(column, no_wrap=True)
    for status in statuses:
        table.add_row(status.name, _state_text(status) if status.healthy else Text(status.health, "red"), status.url)
    return table


def unhealthy_logs(stack: Stack, names: Sequence[str], lines: int = 10) -> Group:
    """The last log lines of each named program, one panel each."""
    panels = []
    for name in names:
        tail = [line for line in stack.log_tail(name, lines) if line.strip()]
        body = Text("\n".join(tail)) if tail else Text(f"(no output in {stack.log_file(name)})", style="dim")
        panels.append(Panel(body, title=f"{name}: last {lines} log lines", title_align="left", border_style="red"))
    return Group(*panels)


def progress_line(statuses: Sequence[ComponentStatus]) -> str:
    """'7/14 healthy; waiting for gateway, orchestrator' for the spinner while starting."""
    healthy = sum(1 for s in statuses if s.healthy)
    waiting = [s.name for s in statuses if not s.healthy and s.state != "STOPPED"]
    queued = sum(1 for s in statuses if s.state == "STOPPED")
    text = f"{healthy}/{len(statuses)} healthy"
    if waiting:
        text += "; waiting for " + ", ".join(waiting)
    if queued:
        text += f"; {queued} queued"
    return text
