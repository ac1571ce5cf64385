"""``atctl verify`` and ``atctl health``: the testing strategy's checks against a deployment.

Thin over :mod:`agentic_trading.verify`. URLs default to the local stack (from
``--state-dir``/``--port-offset``); given explicitly, nothing local is read.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from agentic_trading.cli.common import (
    GlobalOptions,
    attach_stack,
    console,
    err_console,
    settings_from,
    stack_options,
    tree_options,
)
from agentic_trading.cli.shared_options import option, shared_options
from agentic_trading.observability.catalog import load_catalog
from agentic_trading.settings import Settings
from agentic_trading.stack.errors import NoStackError
from agentic_trading.verify import CATEGORIES, Endpoints, Report, Result, Sources, Status, VerifyContext, run_checks
from agentic_trading.verify.context import DEFAULT_REQUEST_TIMEOUT_S
from agentic_trading.verify.grafana import GrafanaAuth
from agentic_trading.verify.html import render_html
from agentic_trading.verify.metric_docs import DEFAULT_DOCS_PATH, write_metric_docs
from agentic_trading.verify.report import render_junit, render_text, report_json
from agentic_trading.web_access import web_client_options


class ReportFormat(StrEnum):
    text = "text"
    json = "json"
    junit = "junit"


class Category(StrEnum):
    collection = "collection"
    accuracy = "accuracy"
    dashboards = "dashboards"
    alerts = "alerts"
    health = "health"
    security = "security"


assert tuple(Category) == CATEGORIES

PrometheusUrlOption = Annotated[
    str | None, typer.Option("--prometheus-url", help="Prometheus base URL.", show_default="the local stack's")
]
AlertmanagerUrlOption = Annotated[
    str | None, typer.Option("--alertmanager-url", help="Alertmanager base URL.", show_default="the local stack's")
]
GatewayUrlOption = Annotated[
    str | None, typer.Option("--gateway-url", help="Gateway base URL (test webhooks go there).", show_default="the local stack's")
]
RedisUrlOption = Annotated[
    str | None, typer.Option("--redis-url", help="Redis URL, probed anonymously.", show_default="the local stack's")
]
NatsUrlOption = Annotated[
    str | None, typer.Option("--nats-url", help="NATS URL, probed anonymously.", show_default="the local stack's")
]
GrafanaUrlOption = Annotated[
    str | None,
    typer.Option(
        "--grafana-url",
        help="Grafana base URL: import the dashboards and check the datasource through it. "
        "Credentials: GRAFANA_TOKEN, or GRAFANA_USER and GRAFANA_PASSWORD.",
        show_default="none (no Grafana checks)",
    ),
]
FormatOption = Annotated[ReportFormat, typer.Option("--format", help="text, one JSON object, or JUnit XML.")]
OutputOption = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Also write report.html (self-contained), report.json and junit.xml here."),
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress on stderr.")]
VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help="Text report: list passed checks too.")]
TimeoutOption = Annotated[float, typer.Option("--timeout", min=0.1, help="Seconds for each HTTP request.")]
DashboardsDirOption = Annotated[  # atctl health's; atctl verify takes the whole tree (tree_options)
    Path | None,
    typer.Option("--dashboards-dir", help="Grafana dashboard JSON files.", show_default="observability/grafana_dashboards"),
]


@dataclass(frozen=True)
class ReportOptions:
    """How verify and health run their checks and report: their options after the command's own."""

    output_format: ReportFormat
    output_dir: Path | None
    quiet: bool
    verbose: bool
    timeout: float


report_options = shared_options(
    "reporting",
    [
        option("output_format", FormatOption, ReportFormat.text),
        option("output", OutputOption),
        option("quiet", QuietOption, False),
        option("verbose", VerboseOption, False),
        option("timeout", TimeoutOption, DEFAULT_REQUEST_TIMEOUT_S),
    ],
    lambda ctx, output, **values: ReportOptions(output_dir=output, **values),
)


class _RichProgress:
    """A bar per category on stderr while checks run (terminal only)."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.task: TaskID | None = None
        self.failed = self.done = self.total = 0

    def category_started(self, category: str, total: int) -> None:
        self.failed, self.done, self.total = 0, 0, total
        self.task = self.progress.add_task(category, total=total, status="")

    def check_finished(self, result: Result) -> None:
        if self.task is None:
            return
        self.done += 1
        if result.status is Status.failed:
            self.failed += 1
        if self.done == self.total:
            status = f"[red]✗ {self.failed} failed[/]" if self.failed else "[green]✓ passed[/]"
        else:
            status = f"[red]{self.failed} failed[/] · " if self.failed else ""
            status += f"[dim]{escape(result.name)}[/]"
        self.progress.update(self.task, advance=1, status=status)


class _PlainProgress:
    """One line per finished category on stderr, for logs and CI."""

    def __init__(self, console: Console):
        self.console = console
        self.category = ""
        self.remaining = 0
        self.counts: dict[Status, int] = {}

    def category_started(self, category: str, total: int) -> None:
        self.category, self.remaining, self.counts = category, total, {status: 0 for status in Status}
        if total == 0:
            self._done()

    def check_finished(self, result: Result) -> None:
        self.counts[result.status] += 1
        self.remaining -= 1
        if self.remaining == 0:
            self._done()

    def _done(self) -> None:
        counts = ", ".join(f"{n} {status.value}" for status, n in self.counts.items())
        self.console.print(f"{self.category}: {counts}", highlight=False)


def local_settings(options: GlobalOptions) -> Settings:
    """The running local stack's settings (its recorded ports), or those of the options."""
    try:
        return attach_stack(options).settings
    except NoStackError:
        return settings_from(options)


def resolve_endpoints(
    options: GlobalOptions, given: dict[str, str | None], needed: Sequence[str]
) -> tuple[Endpoints, Settings | None]:
    """The given URLs; the local stack's for those needed but not given (nothing local when all are).

    Also the local stack's settings, or None when only URLs were used.
    """
    if all(given.get(name) for name in needed):
        return Endpoints(**{key: value.rstrip("/") if value else None for key, value in given.items()}), None
    settings = local_settings(options)
    return Endpoints.from_settings(settings, **given), settings


def _web_settings(settings: Settings | None) -> Settings:
    """Whose credentials reach Prometheus and Alertmanager: the environment's when it gives a password
    (AT_WEB_USER, AT_WEB_PASSWORD, AT_WEB_CA_FILE: a deployment elsewhere), else the local stack's files."""
    environment = Settings()
    return environment if settings is None or environment.web_password is not None else settings


def execute(
    endpoints: Endpoints,
    sources: Sources,
    categories: Sequence[str],
    *,
    reporting: ReportOptions,
    title: str = "atctl verify",
    settings: Settings | None = None,
) -> None:
    """Run, report, write files, exit 0 (all passed) or 1 (a check failed).

    What stops the run (Prometheus not answering, bad input) is raised as an
    :class:`~agentic_trading.errors.AgenticTradingError`; the CLI reports it (exit 2).
    """
    secret = os.environ.get("AT_WEBHOOK_SECRET") or None
    with VerifyContext.open(
        endpoints,
        sources,
        timeout_s=reporting.timeout,
        grafana_auth=GrafanaAuth.from_env(),
        webhook_secret=secret,
        settings=settings,
        http_options=web_client_options(_web_settings(settings), endpoints.prometheus, endpoints.alertmanager),
    ) as ctx:
        if reporting.quiet:
            results = run_checks(ctx, categories)
        elif err_console.is_terminal:
            columns = (
                SpinnerColumn(),
                TextColumn("[bold]{task.description:<11}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[status]}"),
            )
            with Progress(*columns, console=err_console, transient=False) as progress:
                results = run_checks(ctx, categories, _RichProgress(progress))
        else:
            results = run_checks(ctx, categories, _PlainProgress(err_console))
    results.title = title
    _emit(results, reporting.output_format, reporting.verbose)
    if reporting.output_dir is not None:
        _write_files(results, reporting.output_dir)
    if not results.ok:
        raise typer.Exit(1)


def _emit(report: Report, output_format: ReportFormat, verbose: bool) -> None:
    if output_format is ReportFormat.json:
        typer.echo(json.dumps(report_json(report), indent=2))
    elif output_format is ReportFormat.junit:
        typer.echo(render_junit(report), nl=False)
    else:
        render_text(report, console, verbose=verbose)


def _write_files(report: Report, output_dir: Path) -> None:
    output_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in (
        ("report.html", render_html(report)),
        ("report.json", json.dumps(report_json(report), indent=2) + "\n"),
        ("junit.xml", render_junit(report)),
    ):
        (output_dir / name).write_text(text)
        written.append(output_dir / name)
    err_console.print(f"Wrote {escape(str(written[0]))} (and {', '.join(p.name for p in written[1:])})", soft_wrap=True)


@stack_options
@report_options
@tree_options
def verify(
    options: GlobalOptions,
    reporting: ReportOptions,
    tree: dict[str, Path | None],
    category: Annotated[
        list[Category] | None,
        typer.Option("--category", "-c", help="Run only this category (repeatable).", show_default="all"),
    ] = None,
    prometheus_url: PrometheusUrlOption = None,
    alertmanager_url: AlertmanagerUrlOption = None,
    gateway_url: GatewayUrlOption = None,
    grafana_url: GrafanaUrlOption = None,
    redis_url: RedisUrlOption = None,
    nats_url: NatsUrlOption = None,
    write_metric_docs_: Annotated[
        bool,
        typer.Option("--write-metric-docs", help=f"Only regenerate {DEFAULT_DOCS_PATH.name} from the catalog, then exit."),
    ] = False,
) -> None:
    """Check that metrics, dashboards, alerts and health tell the truth (the testing strategy).

    Categories: collection (targets, series, exposition), accuracy (a test webhook counted
    exactly, counters, histograms, ranges), dashboards (lint, variables, every panel query),
    alerts (promtool, live expressions, runbooks, unit tests), health (the production
    health check), security (webhook secret enforced, endpoints and dashboards exposed off
    loopback, the gateway's replay window, rate limit and proxy trust, anonymous Redis and
    NATS refused, Prometheus' lifecycle API off, queries and silences authenticated off
    loopback, secrets only in the processes that need them, header limits). Exit 0 when every check passed, 1 when one failed, 2 when Prometheus
    does not answer.
    """
    sources = Sources.defaults(**tree)
    if write_metric_docs_:
        path = write_metric_docs(load_catalog(sources.catalog))
        console.print(f"Wrote {escape(str(path))}")
        return
    categories = [c.value for c in category] if category else list(CATEGORIES)
    given = {
        "prometheus": prometheus_url,
        "alertmanager": alertmanager_url,
        "gateway": gateway_url,
        "grafana": grafana_url,
        "redis": redis_url,
        "nats": nats_url,
    }
    needed = ["prometheus", "alertmanager"] + (["gateway"] if {"accuracy", "security"} & set(categories) else [])
    endpoints, settings = resolve_endpoints(options, given, needed)
    execute(
        endpoints,
        sources,
        categories,
        reporting=reporting,
        settings=settings,
    )


@stack_options
@report_options
def health(
    options: GlobalOptions,
    reporting: ReportOptions,
    prometheus_url: PrometheusUrlOption = None,
    alertmanager_url: AlertmanagerUrlOption = None,
    grafana_url: GrafanaUrlOption = None,
    dashboards_dir: DashboardsDirOption = None,
) -> None:
    """The production health check: targets up, Alertmanager connected, datasource healthy, recent data.

    The same as `atctl verify --category health`. Exit 0 healthy, 1 not, 2 Prometheus does not answer.
    """
    sources = Sources.defaults(dashboards_dir=dashboards_dir)
    given = {"prometheus": prometheus_url, "alertmanager": alertmanager_url, "grafana": grafana_url}
    endpoints, settings = resolve_endpoints(options, given, ["prometheus", "alertmanager"])
    execute(
        endpoints,
        sources,
        ["health"],
        settings=settings,
        reporting=reporting,
        title="atctl health",
    )


VERIFY_EXAMPLES = """
Examples:

  atctl verify                                 # every category, local stack
  atctl verify -c alerts -c security           # two categories
  atctl verify --format junit > verify.xml     # for CI
  atctl verify --output report/                # also report.html, .json, .xml
  atctl verify --prometheus-url http://prom:9090 -c health
"""
HEALTH_EXAMPLES = """
Examples:

  atctl health
  atctl health --state-dir /tmp/stack2 --format json
"""


def register(app: typer.Typer) -> None:
    app.command(epilog=VERIFY_EXAMPLES)(verify)
    app.command(epilog=HEALTH_EXAMPLES)(health)
