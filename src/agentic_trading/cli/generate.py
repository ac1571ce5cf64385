"""``atctl generate normal|errors|burst``: the specification's synthetic traffic, counted.

Sends to the running stack's gateway (found like every command finds its stack, see
:mod:`.gateway_target`), to ``/webhook/test`` unless ``--endpoint tradingview``, signed
when the stack has a webhook secret.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from agentic_trading.cli.common import GlobalOptions, console, err_console, stack_options
from agentic_trading.cli.gateway_target import Endpoint, EndpointOption, GatewayUrlOption, find_gateway
from agentic_trading.cli.shared_options import option, shared_options
from agentic_trading.load.traffic import TrafficGenerator, TrafficReport

EXAMPLES = """
Examples:

  atctl generate normal --speed 60 --duration 30   # 1-5 signals a second
  atctl generate errors --count 100 --error-rate 0.1
  atctl generate burst --threads 20 --per-thread 10
  atctl generate burst --endpoint tradingview       # live: moves positions
  atctl generate normal --gateway-url http://10.0.0.5:8001 --format json
"""

generate_app = typer.Typer(
    name="generate",
    help=(
        "Send the specification's synthetic traffic to a gateway: normal flow, error traffic or a burst. "
        "Prints what the gateway answered; exit 1 when a request failed unexpectedly, 2 when nothing answered. "
        "Sends to /webhook/test (never moves positions) unless --endpoint tradingview."
    ),
    no_args_is_help=True,
    epilog=EXAMPLES,
)
SeedOption = Annotated[int | None, typer.Option("--seed", help="Seed for a repeatable run.")]


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


FormatOption = Annotated[OutputFormat, typer.Option("--format", help="text (a table) or json (one object).")]


@dataclass(frozen=True)
class Traffic:
    """Where every ``generate`` command sends and how it reports: its options after the command's own."""

    endpoint: Endpoint
    gateway_url: str | None
    seed: int | None
    output: OutputFormat


traffic_options = shared_options(
    "traffic",
    [
        option("endpoint", EndpointOption, Endpoint.test),
        option("gateway_url", GatewayUrlOption),
        option("seed", SeedOption),
        option("output", FormatOption, OutputFormat.text),
    ],
    lambda ctx, **values: Traffic(**values),
)


def _run(
    options: GlobalOptions,
    traffic: Traffic,
    total: int | None,
    work: Callable[[TrafficGenerator, Callable[[int], None]], Awaitable[TrafficReport]],
    expected_statuses: set[str],
) -> None:
    target = find_gateway(options, traffic.gateway_url)
    output, path = traffic.output, traffic.endpoint.path
    url = target.base_url + path
    generator = TrafficGenerator(target.base_url, seed=traffic.seed, path=path, webhook_secret=target.webhook_secret)
    with Progress(
        TextColumn("[bold]sending[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=output is OutputFormat.json or not err_console.is_terminal,
    ) as progress:
        task = progress.add_task("traffic", total=total)
        report = asyncio.run(work(generator, lambda sent: progress.update(task, completed=sent)))
    _print(report, url, output, signed=target.webhook_secret is not None)
    if report.sent and not report.statuses:
        err_console.print(f"[bold red]error:[/] the gateway at {url} did not answer: is the stack up? (atctl status)")
        raise typer.Exit(2)
    unexpected = {s: n for s, n in report.statuses.items() if s not in expected_statuses}
    if unexpected or report.errors:
        err_console.print(f"[bold red]unexpected answers:[/] {unexpected or ''} {dict(report.errors) or ''}")
        raise typer.Exit(1)


def _print(report: TrafficReport, url: str, output: OutputFormat, *, signed: bool) -> None:
    if output is OutputFormat.json:
        console.print_json(json.dumps({"gateway_url": url, "signed": signed, **report.as_dict()}))
        return
    console.print(f"Traffic to [bold]{url}[/]" + (" (signed with the webhook secret)" if signed else ""), soft_wrap=True)
    table = Table()
    table.add_column("answer")
    table.add_column("count", justify="right")
    for status, count in sorted(report.statuses.items()):
        table.add_row(f"HTTP {status}", str(count))
    for error, count in sorted(report.errors.items()):
        table.add_row(f"[red]{error}[/]", str(count))
    table.caption = f"{report.sent} sent in {report.duration_s:.1f} s"
    console.print(table)


@generate_app.command("normal", epilog="Example:\n\n  atctl generate normal --speed 60 --duration 30\n")
@stack_options
@traffic_options
def normal(
    options: GlobalOptions,
    traffic: Traffic,
    duration: Annotated[float, typer.Option("--duration", min=0.1, help="Seconds to run.")] = 60.0,
    speed: Annotated[
        float, typer.Option("--speed", min=0.01, help="Time compression: 60 turns 1-5 signals a minute into 1-5 a second.")
    ] = 1.0,
    test: Annotated[bool, typer.Option("--test", hidden=True, help="Old spelling of --endpoint test.")] = False,
) -> None:
    """Realistic normal flow: 1-5 valid signals per minute (compressed by --speed), prices on a random walk."""
    _run(
        options, replace(traffic, endpoint=Endpoint.test) if test else traffic, None,
        lambda g, progress: g.normal(duration_s=duration, speed=speed, progress=progress),
        {"200"},
    )  # fmt: skip


@generate_app.command("errors", epilog="Example:\n\n  atctl generate errors --count 100 --error-rate 0.1\n")
@stack_options
@traffic_options
def errors(
    options: GlobalOptions,
    traffic: Traffic,
    count: Annotated[int, typer.Option("--count", min=1, help="Webhooks to send.")] = 100,
    error_rate: Annotated[
        float, typer.Option("--error-rate", min=0.0, max=1.0, help="Share of the specification's malformed payloads.")
    ] = 0.1,
    interval: Annotated[float, typer.Option("--interval", min=0.0, help="Seconds between webhooks.")] = 0.1,
) -> None:
    """Traffic with an error rate: malformed webhooks ({}, wrong fields, nulls, wrong types) among valid ones."""
    _run(
        options, traffic, count,
        lambda g, progress: g.errors(count=count, error_rate=error_rate, interval_s=interval, progress=progress),
        {"200", "422"},
    )  # fmt: skip


@generate_app.command("burst", epilog="Example:\n\n  atctl generate burst --threads 20 --per-thread 10\n")
@stack_options
@traffic_options
def burst(
    options: GlobalOptions,
    traffic: Traffic,
    threads: Annotated[int, typer.Option("--threads", min=1, help="Concurrent senders.")] = 20,
    per_thread: Annotated[int, typer.Option("--per-thread", min=1, help="Signals each sender sends.")] = 10,
) -> None:
    """A burst: --threads concurrent senders of --per-thread signals each (the specification's 20 x 10)."""
    _run(
        options, traffic, threads * per_thread,
        lambda g, progress: g.burst(threads=threads, per_thread=per_thread, progress=progress),
        {"200"},
    )  # fmt: skip


def register(app: typer.Typer) -> None:
    app.add_typer(generate_app)
