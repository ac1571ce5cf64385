"""``atctl chaos list`` and ``atctl chaos run NAME... | --all``: prove every alert with its real fault.

Thin over :mod:`agentic_trading.chaos`: the experiment files are under ``chaos/``.
"""

from __future__ import annotations

import json
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from agentic_trading.chaos.errors import ExperimentFileError
from agentic_trading.chaos.experiment import Experiment, default_experiments_dir, discover, select
from agentic_trading.chaos.fleet import Fleet, check_offsets, label, pick_offsets, programs_of, stop_leftovers
from agentic_trading.chaos.lanes import LaneProgress, run_concurrently
from agentic_trading.chaos.report import TEXT_HEADERS, durations_of, text_rows, to_json, to_junit, to_markdown
from agentic_trading.chaos.runner import ExperimentResult, concurrent, run_one, sigint_ignored
from agentic_trading.chaos.schedule import longest_chain
from agentic_trading.chaos.shards import estimate_s, plan, replay
from agentic_trading.cli.common import GlobalOptions, attach_stack, console, debug_option, err_console, stack_options
from agentic_trading.stack import Program, Stack

app = typer.Typer(
    help="Chaos experiments: inject each alert's real fault into the local stack and time the alert path.",
    no_args_is_help=True,
    epilog="Examples:\n\n  atctl chaos list\n\n  atctl chaos run gateway-down\n\n  atctl chaos table reports/chaos.json\n",
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
    markdown = "markdown"


SUFFIX = {ReportFormat.text: "txt", ReportFormat.json: "json", ReportFormat.junit: "xml", ReportFormat.markdown: "md"}
DEFAULT_CONCURRENCY = 3
DEFAULT_STACKS_ALL = 2  # measured: what brings --all under 5 minutes on a 2-core machine (docs/chaos.md)
MEASURED_REPORT = Path("measured") / "all.json"  # under chaos/: the durations that plan the shards


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
    concurrency: Annotated[
        int,
        typer.Option(
            "--concurrency",
            min=1,
            help="Experiments run side by side at most (never two that interact; docs/chaos.md). 1: one after another.",
        ),
    ] = DEFAULT_CONCURRENCY,
    stacks: Annotated[
        int | None,
        typer.Option(
            "--stacks",
            min=1,
            help="Shard the experiments over this many stacks: the given one and N-1 extra ones of the same kind, "
            "started beside the run and always stopped after it.",
            show_default=f"{DEFAULT_STACKS_ALL} with --all, else 1",
        ),
    ] = None,
    stack_offsets: Annotated[
        str | None,
        typer.Option(
            "--stack-offsets",
            help="Port offsets of the extra stacks, comma-separated (default: free, collision-safe ones).",
            show_default=False,
        ),
    ] = None,
    durations: Annotated[
        Path | None,
        typer.Option(
            "--durations",
            help="A JSON report whose durations plan the shards.",
            show_default="chaos/measured/all.json",
        ),
    ] = None,
) -> None:
    """Run experiments against the running stack; exit 1 when one fails, 2 when one could not test its alert.

    Each one checks the steady state, injects its fault while signals flow, times the
    alert to Prometheus, Alertmanager and the receiver, repairs, times the resolution,
    and checks that nothing undeclared was notified and every accepted signal was
    decided exactly once. Rollbacks always run, also on Ctrl-C. Experiments whose faults
    cannot interact run side by side, each in a process of its own.

    Exit codes: 0 all passed, 1 one failed or was interrupted, 2 nothing could run or an
    experiment was inconclusive (its fault could not be applied in full, e.g. a CPU spin
    that never got a core on a busy machine).

    Examples:
      atctl chaos run gateway-down
      atctl chaos run --all --format junit --output reports/
      atctl chaos run --all --concurrency 1       # one after another
      atctl chaos run --all --stacks 1            # all on the given stack only
      atctl chaos run --all --stacks 3 --stack-offsets 19000,19100
      atctl chaos run --all --format markdown     # the table of docs/chaos.md
      atctl chaos run nats-partition --format json --port-offset 13500
    """
    if bool(names) == all_:
        raise typer.BadParameter("name experiments or give --all (not both)")
    found = discover(experiments)
    chosen = found if all_ else select(found, list(names or []))
    stack = attach_stack(options)
    started = time.monotonic()
    shards = min(stacks or (DEFAULT_STACKS_ALL if all_ else 1), max(1, sum(not e.exception for e in chosen)))
    if (concurrency > 1 or shards > 1) and len(chosen) > 1 and not concurrent():
        results = _run_sharded(stack, chosen, shards, concurrency, experiments, stack_offsets, durations, started)
    else:
        results = [_on_stack(r, stack) for r in _run_in_turn(stack, chosen)]
    report = _render(results, format_, {e.name: e.fault for e in found})
    console.print(report, markup=False, highlight=False, soft_wrap=True) if format_ != ReportFormat.text else _print_table(
        results
    )
    if not concurrent():  # a child of a concurrent run: its parent reports
        err_console.print(f"{sum(r.ok for r in results)}/{len(results)} passed in {time.monotonic() - started:.0f} s")
    if output is not None:
        output.mkdir(parents=True, exist_ok=True)
        path = output / f"chaos.{SUFFIX[format_]}"
        path.write_text(report)
        err_console.print(f"report: {escape(str(path))}")
    if not all(r.ok or r.status == "inconclusive" for r in results):
        raise typer.Exit(1)
    if any(r.status == "inconclusive" for r in results):
        raise typer.Exit(2)


@app.command("table")
@debug_option
def table(
    report: Annotated[Path, typer.Argument(help="A JSON report of `atctl chaos run --format json --output DIR`.")],
    experiments: ExperimentsOption = None,
) -> None:
    """Print the markdown table of docs/chaos.md from a JSON report, so nobody copies figures by hand.

    Example: atctl chaos table reports/chaos.json
    """
    try:
        results = [ExperimentResult.from_json(e) for e in json.loads(report.read_text())["experiments"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ExperimentFileError(report, f"not a JSON report of `atctl chaos run --format json` ({exc})") from exc
    faults = {e.name: e.fault for e in discover(experiments)}
    console.print(to_markdown(results, faults), markup=False, highlight=False, soft_wrap=True)


def _run_sharded(
    stack: Stack,
    chosen: list[Experiment],
    count: int,
    concurrency: int,
    experiments: Path | None,
    stack_offsets: str | None,
    durations: Path | None,
    started: float,
) -> list[ExperimentResult]:
    """Plan the shards, start the extra stacks beside the first experiments, run, always stop them."""
    measured = _measured(durations)
    shards = plan(chosen, count, concurrency, measured)
    shards = [shards[0], *(shard for shard in shards[1:] if shard)]  # an extra stack with nothing to run is not started
    count = len(shards)
    say = _lane_progress(started)
    stop_leftovers(stack, lambda message: say("-", message))
    programs = programs_of(stack)
    offsets = _offsets(stack, programs, count - 1, stack_offsets)
    seconds = {e.name: estimate_s(e, measured) for e in chosen}
    replayed = replay(shards, concurrency, seconds)
    err_console.print(
        f"[bold]{len(chosen)} experiments[/] on {count} stack{'s' if count > 1 else ''}, up to {concurrency} side by side "
        f"on each; planned to take {max(r.end_s for r in replayed):.0f} s",
        soft_wrap=True,
    )
    if count > 1:
        for k, (shard, r) in enumerate(zip(shards, replayed, strict=True), start=1):
            names = ", ".join(sorted(e.name for e in shard))
            err_console.print(f"  stack {k}: {len(shard)} experiments, {r.end_s:.0f} s: {escape(names)}", soft_wrap=True)
    fleet = Fleet.of(stack, offsets, lambda k, message: say(f"stack {k + 1}", message))
    try:
        fleet.start()
        results = run_concurrently(fleet, shards, concurrency, experiments, say)
    finally:
        with sigint_ignored():
            fleet.stop()
    if len(results) == len(chosen) and not any(r.status == "interrupted" for r in results):
        _print_bounds(results, chosen, fleet.stacks())
    return results


def _print_bounds(results: list[ExperimentResult], chosen: list[Experiment], stacks: list[Stack]) -> None:
    """Per stack: the experiments that interact pairwise there and so ran one after another."""
    took = {r.name: r.duration_s for r in results}
    by_name = {e.name: e for e in chosen}
    for k, one in enumerate(stacks, start=1):
        ran = [by_name[r.name] for r in results if r.stack == label(one) and r.name in by_name]
        if not ran:
            continue
        total, chain = longest_chain(ran, took)
        where = f"stack {k} ({escape(label(one))})" if len(stacks) > 1 else "bound"
        err_console.print(
            f"{where}: {len(chain)} of them interact pairwise and ran one after another, {total:.0f} s together: "
            + ", ".join(f"{e.name} {took.get(e.name, 0):.0f} s" for e in chain),
            soft_wrap=True,
        )


def _measured(path: Path | None) -> dict[str, float]:
    where = path if path is not None else default_experiments_dir() / MEASURED_REPORT
    if path is None and not where.is_file():
        return {}
    try:
        return durations_of(json.loads(where.read_text()))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ExperimentFileError(where, f"not a JSON report of `atctl chaos run --format json` ({exc})") from exc


def _offsets(stack: Stack, programs: list[Program], count: int, given: str | None) -> list[int]:
    if given is None:
        return pick_offsets(stack.settings, programs, count) if count else []
    try:
        offsets = [int(part) for part in given.split(",") if part.strip()]
    except ValueError as exc:
        raise typer.BadParameter(f"--stack-offsets {given!r}: give whole numbers, comma-separated") from exc
    if len(offsets) != count:
        raise typer.BadParameter(f"--stack-offsets: {count} extra stacks need {count} offsets, got {len(offsets)}")
    check_offsets(stack.settings, programs, offsets)
    return offsets


def _on_stack(result: ExperimentResult, stack: Stack) -> ExperimentResult:
    result.stack = result.stack or label(stack)
    return result


def _run_in_turn(stack: Stack, chosen: list[Experiment]) -> list[ExperimentResult]:
    results: list[ExperimentResult] = []
    child = concurrent()  # a child of a concurrent run: its parent names the experiment and the verdict
    for index, experiment in enumerate(chosen, start=1):
        if not child:
            err_console.print(f"[bold]{index}/{len(chosen)} {escape(experiment.name)}[/] ({experiment.alert})")

        def say(message: str, t0: float = time.monotonic()) -> None:
            err_console.print(f"  {time.monotonic() - t0:5.1f}s {message}", highlight=False)

        result = run_one(stack, experiment, progress=say)
        results.append(result)
        colour = {"passed": "green", "skipped": "yellow", "inconclusive": "yellow"}.get(result.status, "red")
        if not child:
            err_console.print(f"  [{colour}]{result.status}[/] in {result.duration_s:.0f} s: {escape(result.message)}")
        if result.status == "interrupted":
            break
    return results


def _lane_progress(started: float) -> LaneProgress:
    def say(name: str, message: str) -> None:
        err_console.print(
            f"{time.monotonic() - started:6.1f}s {escape(name):<20} {escape(message.strip())}", highlight=False, soft_wrap=True
        )

    return say


def _render(results: list[ExperimentResult], format_: ReportFormat, faults: dict[str, str]) -> str:
    if format_ == ReportFormat.json:
        return to_json(results)
    if format_ == ReportFormat.markdown:
        return to_markdown(results, faults)
    if format_ == ReportFormat.junit:
        return to_junit(results)
    width = [max(len(h), *(len(row[i]) for row in text_rows(results))) for i, h in enumerate(TEXT_HEADERS)] if results else []
    lines = ["  ".join(h.ljust(w) for h, w in zip(TEXT_HEADERS, width, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, width, strict=True)) for row in text_rows(results)]
    lines += [f"{r.name}: {r.message}" for r in results if r.status != "passed" or r.alongside]
    return "\n".join(lines)


def _print_table(results: list[ExperimentResult]) -> None:
    table = Table(
        *TEXT_HEADERS, box=None, pad_edge=False, caption="seconds from the fault (fire, AM, notify) or the repair (resolve)"
    )
    for row in text_rows(results):
        table.add_row(*row)
    console.print(table)
    for r in results:
        if r.status != "passed" or r.alongside:
            console.print(f"[bold]{escape(r.name)}[/]: {escape(r.message)}", soft_wrap=True)


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="chaos")
