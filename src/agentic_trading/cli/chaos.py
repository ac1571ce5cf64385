"""``atctl chaos list`` and ``atctl chaos run NAME... | --all``: prove every alert with its real fault.

Thin over :mod:`agentic_trading.chaos`: the experiment files are under ``chaos/``.
"""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from agentic_trading.chaos.experiment import discover, select
from agentic_trading.chaos.report import TEXT_HEADERS, text_rows, to_json, to_junit
from agentic_trading.chaos.runner import ExperimentResult, run_one
from agentic_trading.cli.common import GlobalOptions, attach_stack, console, debug_option, err_console, stack_options

app = typer.Typer(
    help="Chaos experiments: inject each alert's real fault into the local stack and time the alert path.",
    no_args_is_help=True,
    epilog="Examples:\n\n  atctl chaos list\n\n  atctl chaos run gateway-down\n",
    context_settings={"help_option_names": ["-h", "--help"]},
)

ExperimentsOption = Annotated[
    Path | None,
    typer.Option("--experiments", help="Folder of experiment files.", show_default="the repository's chaos/"),
]


class ReportFormat(StrEnum):
    text = "text"
    json = "json"
    junit = "junit"


SUFFIX = {ReportFormat.text: "txt", ReportFormat.json: "json", ReportFormat.junit: "xml"}


@app.command("list")
@debug_option
def list_experiments(experiments: ExperimentsOption = None) -> None:
    """Every experiment: its name, the alert it proves and its fault.

    Example: atctl chaos list
    """
    found = discover(experiments)
    table = Table("experiment", "alert", "fault", box=None, pad_edge=False)
    for e in found:
        table.add_row(e.name, e.alert, escape(e.fault) + (" [yellow](not run: exception)[/]" if e.exception else ""))
    console.print(table)
    for e in found:
        if e.exception:
            console.print(f"[yellow]{escape(e.name)}[/]: {escape(e.exception)}", soft_wrap=True)


@app.command()
@stack_options
def run(
    options: GlobalOptions,
    names: Annotated[list[str] | None, typer.Argument(help="Experiment names (atctl chaos list).", show_default=False)] = None,
    all_: Annotated[bool, typer.Option("--all", help="Run every experiment.")] = False,
    format_: Annotated[ReportFormat, typer.Option("--format", help="Report format.")] = ReportFormat.text,
    output: Annotated[Path | None, typer.Option("--output", help="Also write the report into this folder.")] = None,
    experiments: ExperimentsOption = None,
) -> None:
    """Run experiments against the running stack; exit 1 when one fails.

    Each one checks the steady state, injects its fault while signals flow, times the
    alert to Prometheus, Alertmanager and the receiver, repairs, times the resolution,
    and checks that nothing undeclared was notified and every accepted signal was
    decided exactly once. Rollbacks always run, also on Ctrl-C.

    Examples:
      atctl chaos run gateway-down
      atctl chaos run --all --format junit --output reports/
      atctl chaos run nats-partition --format json --port-offset 13500
    """
    if bool(names) == all_:
        raise typer.BadParameter("name experiments or give --all (not both)")
    found = discover(experiments)
    chosen = found if all_ else select(found, list(names or []))
    stack = attach_stack(options)
    results: list[ExperimentResult] = []
    started = time.monotonic()
    for index, experiment in enumerate(chosen, start=1):
        err_console.print(f"[bold]{index}/{len(chosen)} {escape(experiment.name)}[/] ({experiment.alert})")

        def say(message: str, t0: float = time.monotonic()) -> None:
            err_console.print(f"  {time.monotonic() - t0:5.1f}s {message}", highlight=False)

        result = run_one(stack, experiment, progress=say)
        results.append(result)
        colour = {"passed": "green", "skipped": "yellow"}.get(result.status, "red")
        err_console.print(f"  [{colour}]{result.status}[/] in {result.duration_s:.0f} s: {escape(result.message)}")
        if result.status == "interrupted":
            break
    report = _render(results, format_)
    console.print(report, markup=False, highlight=False, soft_wrap=True) if format_ != ReportFormat.text else _print_table(
        results
    )
    err_console.print(f"{sum(r.ok for r in results)}/{len(results)} passed in {time.monotonic() - started:.0f} s")
    if output is not None:
        output.mkdir(parents=True, exist_ok=True)
        path = output / f"chaos.{SUFFIX[format_]}"
        path.write_text(report)
        err_console.print(f"report: {escape(str(path))}")
    if not all(r.ok for r in results):
        raise typer.Exit(1)


def _render(results: list[ExperimentResult], format_: ReportFormat) -> str:
    if format_ == ReportFormat.json:
        return to_json(results)
    if format_ == ReportFormat.junit:
        return to_junit(results)
    width = [max(len(h), *(len(row[i]) for row in text_rows(results))) for i, h in enumerate(TEXT_HEADERS)] if results else []
    lines = ["  ".join(h.ljust(w) for h, w in zip(TEXT_HEADERS, width, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, width, strict=True)) for row in text_rows(results)]
    lines += [f"{r.name}: {r.message}" for r in results if not r.ok or r.status == "skipped"]
    return "\n".join(lines)


def _print_table(results: list[ExperimentResult]) -> None:
    table = Table(
        *TEXT_HEADERS, box=None, pad_edge=False, caption="seconds from the fault (fire, AM, notify) or the repair (resolve)"
    )
    for row in text_rows(results):
        table.add_row(*row)
    console.print(table)
    for r in results:
        if not r.ok or r.status == "skipped":
            console.print(f"[bold]{escape(r.name)}[/]: {escape(r.message)}", soft_wrap=True)


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="chaos")
