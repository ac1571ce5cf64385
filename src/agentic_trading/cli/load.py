"""``atctl load``: drive the gateway with a closed or an open load model and report numbers you can trust.

Register with ``load.register(app)`` like the other command modules (or
``app.add_typer(load.app, name="load")``: the sub-app runs its callback directly).
Either way the command is ``atctl load --rate 2000 --duration 30``. It finds the gateway
of the stack in the state directory like every command (:mod:`.gateway_target`), sends
to ``/webhook/test`` unless ``--endpoint tradingview``, and signs every body with the
stack's webhook secret when it has one.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated
from urllib.parse import urlsplit, urlunsplit

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from agentic_trading.cli.common import GlobalOptions, ReportingGroup, stack_options
from agentic_trading.cli.gateway_target import Endpoint, EndpointOption, GatewayUrlOption, find_gateway
from agentic_trading.load.errors import LoadInterruptedError, LoadModelError
from agentic_trading.load.model import ClosedModel, LoadModel, OpenModel
from agentic_trading.load.report import render_text
from agentic_trading.load.runner import ProgressSnapshot, RunOptions, run
from agentic_trading.load.thresholds import check_thresholds, parse_thresholds

# The specification's load_test.py: LoadTest(concurrent_users=50), think 1-3 s.
DEFAULT_USERS = 50

app = typer.Typer(
    cls=ReportingGroup,
    help="Load the gateway (closed model: --users; open model: --rate) and report latency, errors and throughput.",
    add_completion=False,
    no_args_is_help=False,
)


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


def target_url(url: str, path: str | None) -> str:
    """``url`` with its path replaced by ``path`` when given."""
    if path is None:
        return url
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path if path.startswith("/") else "/" + path, "", ""))


def choose_model(rate: float | None, users: int | None, duration: float, think_min: float, think_max: float) -> LoadModel:
    if rate is not None and users is not None:
        raise LoadModelError("choose one model: --rate (open, constant arrival rate) or --users (closed), not both")
    if rate is not None:
        return OpenModel(rate, duration)
    return ClosedModel(users if users is not None else DEFAULT_USERS, duration, think_min, think_max)


@contextmanager
def progress_bar(console: Console, enabled: bool, duration: float) -> Iterator[Callable[[ProgressSnapshot], None] | None]:
    """A Rich progress bar on stderr fed by the runner's snapshots (nothing when disabled)."""
    if not enabled:
        yield None
        return
    columns = (
        TextColumn("[bold]load"),
        BarColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[stats]}"),
    )
    with Progress(*columns, console=console, transient=True, refresh_per_second=4) as progress:
        task = progress.add_task("load", total=duration, stats="starting")

        def update(snapshot: ProgressSnapshot) -> None:
            rate = snapshot.completed / snapshot.elapsed_s if snapshot.elapsed_s > 0 else 0.0
            stats = f"sent {snapshot.sent:,} · answered {snapshot.completed:,} · failed {snapshot.failed:,} · {rate:,.0f} req/s"
            progress.update(task, completed=min(snapshot.elapsed_s, duration), stats=stats)

        yield update


@stack_options
def load(
    options: GlobalOptions,
    endpoint: EndpointOption = Endpoint.test,
    gateway_url: GatewayUrlOption = None,
    url: Annotated[str | None, typer.Option("--url", hidden=True, help="Old: the full target URL.")] = None,
    path: Annotated[str | None, typer.Option(help="Send to this path of the gateway instead, e.g. /healthz")] = None,
    rate: Annotated[
        float | None, typer.Option(help="Open model: requests per second, sent on schedule whatever the answers")
    ] = None,
    users: Annotated[
        int | None,
        typer.Option(help="Closed model: virtual users that send, wait, think", show_default=str(DEFAULT_USERS)),
    ] = None,
    think_min: Annotated[float, typer.Option(help="Closed model: shortest think time, seconds")] = 1.0,
    think_max: Annotated[float, typer.Option(help="Closed model: longest think time, seconds")] = 3.0,
    duration: Annotated[float, typer.Option(help="Seconds of load")] = 30.0,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Generator processes", show_default="auto: more for higher rates")
    ] = None,
    connections: Annotated[int, typer.Option(min=1, help="Most connections per worker (open model)")] = 512,
    timeout: Annotated[float, typer.Option(help="Seconds before an unanswered request counts as a timeout")] = 10.0,
    threshold: Annotated[
        list[str] | None,
        typer.Option("--threshold", "-t", help="Fail (exit 1) unless e.g. 'p99<50ms', 'errors<0.1%', 'rps>1000'"),
    ] = None,
    output: Annotated[OutputFormat, typer.Option("--format", help="text tables or one JSON object")] = OutputFormat.text,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar")] = False,
    seed: Annotated[int | None, typer.Option(help="Seed payloads and think times, for a replayable run")] = None,
) -> None:
    """Load the gateway and report latency, errors and throughput.

    Closed model (--users, the specification's load_test.py): each user sends, waits for
    the answer, thinks, repeats. Open model (--rate): requests leave on a fixed schedule
    and latency counts from each one's intended send time, so a stall is counted, not
    hidden. Exit 0 when every --threshold holds, 1 when one is crossed, 2 when the
    target does not answer. Sends to /webhook/test (decided, never moves positions) unless
    --endpoint tradingview; signs every body when the stack has a webhook secret.
    """
    err = Console(stderr=True)
    thresholds = parse_thresholds(threshold or [])
    model = choose_model(rate, users, duration, think_min, think_max)
    if timeout <= 0:
        raise LoadModelError("--timeout must be a positive number of seconds")
    gateway = find_gateway(options, gateway_url or url)  # with --url: AT_WEBHOOK_SECRET alone signs
    url_ = target_url(url or gateway.base_url + endpoint.path, path)
    run_options = RunOptions(connections=connections, timeout_s=timeout, seed=seed, webhook_secret=gateway.webhook_secret)
    try:
        with progress_bar(err, not quiet and err.is_terminal, model.duration) as on_progress:
            result = run(model, url_, workers=workers, options=run_options, progress=on_progress)
    except KeyboardInterrupt:
        raise LoadInterruptedError() from None

    outcomes = check_thresholds(thresholds, result)
    if output is OutputFormat.json:
        report = result.as_dict()
        if outcomes:
            report["thresholds"] = [outcome.as_dict() for outcome in outcomes]
        sys.stdout.write(json.dumps(report) + "\n")
    else:
        render_text(result, Console())
    if result.generator_lag is not None and (warning := result.generator_lag.warning()):
        err.print(f"[yellow]warning: {escape(warning)}[/]", highlight=False)
    crossed = [outcome for outcome in outcomes if not outcome.passed]
    for outcome in outcomes:
        style = "green" if outcome.passed else "red"
        err.print(f"[{style}]threshold {escape(outcome.describe())}[/]", highlight=False)
    if crossed:
        raise typer.Exit(1)


EXAMPLES = """
Examples:

  atctl load --rate 2000 --duration 30 --threshold 'p99<25ms'
  atctl load --users 50 --duration 60              # closed model
  atctl load --rate 500 --endpoint tradingview     # live: moves positions
  atctl load --rate 200 --gateway-url http://10.0.0.5:8001 --format json
"""


def register(main_app: typer.Typer) -> None:
    """Add ``atctl load`` to the main app (as the other command modules do)."""
    main_app.command("load", epilog=EXAMPLES)(load)


# The same command as a sub-app, for ``main_app.add_typer(app, name="load")``.
app.callback(invoke_without_command=True)(load)
