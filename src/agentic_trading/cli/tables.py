"""Renderings of stack state: status lines that fit the terminal (80 columns in a pipe) and failed logs."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group
from rich.panel import Panel
from rich.text import Text

from agentic_trading.cli.common import format_uptime
from agentic_trading.cli.layout import aligned_lines, terminal_width
from agentic_trading.stack import ComponentStatus, Stack

STATUS_HEADERS = ("component", "pid", "state", "uptime", "URL", "health")


def status_rows(statuses: Sequence[ComponentStatus]) -> list[list[str]]:
    """component, pid, state, uptime, URL, health: health last, the one cell that may be long."""
    return [[s.name, str(s.pid or "-"), s.state, format_uptime(s.uptime_s), s.url or "-", s.health] for s in statuses]


def status_table(statuses: Sequence[ComponentStatus], title: str | None = None, width: int | None = None) -> Group:
    """The status as aligned lines that fit ``width`` (the terminal's; 80 in a pipe), no cell cut."""
    lines = aligned_lines(STATUS_HEADERS, status_rows(statuses), width or terminal_width())
    texts = [Text(title, style="bold")] if title else []
    texts.append(Text(lines[0], style="bold"))
    unhealthy = {s.name for s in statuses if not s.healthy}
    for line in lines[1:]:
        name = line.split(" ", 1)[0]
        texts.append(Text(line, style="red" if name in unhealthy else ""))
    return Group(*texts)


def up_table(statuses: Sequence[ComponentStatus], title: str | None = None, width: int | None = None) -> Group:
    """component, state, URL: what `atctl up` shows once everything is healthy."""
    rows = [[s.name, s.state if s.healthy else "UNHEALTHY", s.url or "-"] for s in statuses]
    lines = aligned_lines(("component", "state", "URL"), rows, width or terminal_width())
    texts = [Text(title, style="bold")] if title else []
    texts.append(Text(lines[0], style="bold"))
    texts += [Text(line) for line in lines[1:]]
    return Group(*texts)


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
