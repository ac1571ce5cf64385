"""``atctl summary``: the pipeline in a few lines (traffic, decisions, lag, positions, alerts)."""

from __future__ import annotations

import json
import re
import textwrap
from typing import Annotated

import typer
from rich.text import Text

from agentic_trading.alerts.sources import AlertSources
from agentic_trading.cli.common import JSON, TEXT, FormatOption, GlobalOptions, attach_stack, console, stack_options
from agentic_trading.cli.layout import terminal_width
from agentic_trading.credentials import ADMIN, redis_url
from agentic_trading.stack.errors import StackError
from agentic_trading.stack.summary import PipelineSummary, collect_summary
from agentic_trading.stack.trace_lookup import quick_redis

EXAMPLES = """
Examples:

  atctl summary                 # the last 5 minutes
  atctl summary --window 1h
  atctl summary --format json | jq .decisions

Exit codes: 0 read, 1 some figure could not be read (named on stderr), 2 no stack.
"""
_WINDOW_RE = re.compile(r"^\d+[smhd]$")


def _pairs(values: dict[str, float] | dict[str, int], unit: str = "") -> str:
    return ", ".join(f"{k} {v:g}{unit}" for k, v in values.items()) or "none"


def summary_lines(s: PipelineSummary, width: int) -> list[str]:
    ratio = "-" if s.degraded_ratio is None else f"{s.degraded_ratio:.1%}"
    rows = [
        (f"Pipeline over the last {s.window}", ""),
        ("signals accepted", f"{s.accepted_per_min:g}/min"),
        ("signals refused", _pairs(s.refused_per_min, "/min")),
        ("decisions", _pairs(s.decisions)),
        ("workflows", _pairs(s.workflows)),
        ("degraded ratio", ratio),
        ("consumer lag", _pairs(s.consumer_lag)),
        ("positions", _pairs(s.positions)),
        ("firing alerts", ", ".join(s.firing_alerts) or "none"),
    ]
    lines = []
    for label, value in rows:
        text = f"{label:<17} {value}".rstrip()
        lines += textwrap.wrap(text, width, subsequent_indent=" " * 18, break_long_words=False, break_on_hyphens=False)
    return lines


@stack_options
def summary(
    options: GlobalOptions,
    window: Annotated[str, typer.Option("--window", help="Rates and counts over this Prometheus duration.")] = "5m",
    output: FormatOption = TEXT,
) -> None:
    """The pipeline as an operator sees it: signals accepted and refused per minute, decisions by
    outcome, degraded ratio, consumer lag, paper positions and firing alerts."""
    if not _WINDOW_RE.match(window):
        raise _BadWindow(window)
    stack = attach_stack(options)
    client = quick_redis(redis_url(stack.settings, ADMIN))
    try:
        result = collect_summary(AlertSources.of(stack.settings), client, window)
    finally:
        client.close()
    if output == JSON:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        for line in summary_lines(result, terminal_width()):
            console.print(Text(line), soft_wrap=True)
    if result.problems:
        raise StackError("; ".join(result.problems) + ": is the stack healthy? (`atctl status`)")


class _BadWindow(StackError):
    exit_code = 2

    def __init__(self, window: str):
        super().__init__(f"--window {window!r}: a Prometheus duration such as 90s, 5m, 1h or 1d")


def register(app: typer.Typer) -> None:
    app.command(epilog=EXAMPLES)(summary)
