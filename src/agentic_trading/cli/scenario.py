"""``atctl scenario signal-flow | high-load | partial-failure``: the specification's incident scenarios.

Thin over :mod:`agentic_trading.chaos.scenarios`; every check is an assertion with a deadline.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer
from rich.markup import escape

from agentic_trading.chaos.scenarios import SCENARIOS, run_scenario
from agentic_trading.cli.common import GlobalOptions, attach_stack, console, err_console, stack_options


class ScenarioFormat(StrEnum):
    text = "text"
    json = "json"


def _complete(incomplete: str) -> list[str]:
    return [name for name in SCENARIOS if name.startswith(incomplete)]


@stack_options
def scenario(
    options: GlobalOptions,
    name: Annotated[str, typer.Argument(help="One of: " + ", ".join(SCENARIOS), autocompletion=_complete, show_default=False)],
    format_: Annotated[ScenarioFormat, typer.Option("--format", help="Report format.")] = ScenarioFormat.text,
) -> None:
    """Run one incident scenario against the running stack; exit 1 when a check fails.

    signal-flow: one signal moves the three pipeline counters by exactly one and its
    correlation id is in the logs of the gateway, every agent and the orchestrator.
    high-load: 1,000 webhooks from 50 workers all get 200, are all decided exactly
    once, and every program is healthy afterwards.
    partial-failure: with agent-momentum stopped the other agents keep processing and
    workflows complete degraded naming it; complete again once it is back.

    Examples:
      atctl scenario signal-flow
      atctl scenario high-load --format json --port-offset 13500
    """
    stack = attach_stack(options)
    with err_console.status(f"Running scenario {escape(name)}…"):
        result = run_scenario(stack, name)
    if format_ == ScenarioFormat.json:
        console.print(json.dumps(result.to_json(), indent=2), markup=False, highlight=False, soft_wrap=True)
    else:
        for check in result.checks:
            mark = "[green]✓[/]" if check.ok else "[red]✗[/]"
            console.print(f"{mark} {escape(check.what)}: {escape(check.seen)}", soft_wrap=True)
        verdict = "[green]passed[/]" if result.passed else "[red]failed[/]"
        console.print(f"{escape(name)} {verdict} in {result.duration_s:.1f} s")
    if not result.passed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(scenario)
