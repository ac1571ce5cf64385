"""``atctl alerts``: what fires now, what the receiver was told, the silences, the Watchdog.

Thin over :mod:`agentic_trading.alerts`: ``sources`` asks Prometheus, Alertmanager and the
receiver; ``view`` turns their answers into rows. Each source is optional: with one of
them down the others still show, and the missing one is named.
"""

from __future__ import annotations

import getpass
import json
import time
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from agentic_trading.alerts.sources import AlertClient, AlertSourceError, AlertSources
from agentic_trading.alerts.view import AlertRow, age, alert_rows, parse_time, silence_request, silence_rows, status_text
from agentic_trading.cli.common import FormatOption, GlobalOptions, attach_stack, console, err_console, stack_options
from agentic_trading.observability.durations import parse_duration
from agentic_trading.observability.errors import ObservabilityError
from agentic_trading.stack.errors import StackError

app = typer.Typer(
    name="alerts",
    invoke_without_command=True,
    no_args_is_help=False,
)
_SEVERITY_STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan"}


def _duration(text: str, option: str) -> float:
    try:
        return parse_duration(text)
    except ObservabilityError:
        raise StackError(f"{option} {text!r} is not a duration: use e.g. 30s, 10m, 1h") from None


def gather(client: AlertClient, since_s: float) -> dict[str, Any]:
    """Everything ``atctl alerts`` shows, with the problems of sources that did not answer."""
    problems: list[str] = []

    def ask(call: Any, *args: Any) -> Any:
        try:
            return call(*args)
        except AlertSourceError as error:
            problems.append(str(error))
            return None

    prometheus = ask(client.prometheus_alerts)
    manager = ask(client.alertmanager_alerts)
    silences = ask(client.silences) if manager is not None else None
    notifications = ask(client.notifications, time.time() - since_s)
    watchdog = ask(client.watchdog) if notifications is not None else None
    rows = alert_rows(prometheus or [], manager)
    return {
        "firing": rows,
        "notifications": notifications or [],
        "silences": silence_rows(silences or []),
        "watchdog": watchdog,
        "problems": problems,
    }


@app.callback()
@stack_options
def alerts(
    ctx: typer.Context,
    options: GlobalOptions,
    since: Annotated[str, typer.Option("--since", help="How far back to list the receiver's notifications.")] = "1h",
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many recent notifications.")] = 15,
    output: FormatOption = "text",
) -> None:
    """What is alerting now: firing alerts (since when, severity, summary, runbook),
    the receiver's recent notifications, silences, and whether the Watchdog arrives.

    Exit code 0 when nothing but the Watchdog fires, 1 when an alert fires or the
    Watchdog is missing, 2 when no source answered.

    Examples:

    atctl alerts

    atctl alerts --since 10m --format json

    atctl alerts silence AgentDown --for 30m --comment "restarting agents"

    atctl alerts silence AgentDown --service agent-risk --for 1h --comment "swap"
    """
    if ctx.invoked_subcommand is not None:
        ctx.obj = options  # the subcommand merges its own options over these
        return
    stack = attach_stack(options)
    since_s = _duration(since, "--since")
    with AlertClient(AlertSources.of(stack.settings)) as client:
        found = gather(client, since_s)
    if len(found["problems"]) >= 3:  # Prometheus, Alertmanager and the receiver: none answered
        raise AlertSourceError("; ".join(found["problems"]))
    found["notifications"] = found["notifications"][-limit:]
    if output == "json":
        body = dict(found, firing=[r.to_json() for r in found["firing"]], silences=[s.to_json() for s in found["silences"]])
        typer.echo(json.dumps(body, indent=2))
    else:
        _print(found, datetime.now(UTC))
    watchdog_missing = (found["watchdog"] or {}).get("state") == "missing"
    if watchdog_missing or any(r.alertname != "Watchdog" and r.state != "pending" for r in found["firing"]):
        raise typer.Exit(1)


def _print(found: dict[str, Any], now: datetime) -> None:
    for problem in found["problems"]:
        err_console.print(f"[yellow]note:[/] {escape(problem)}", soft_wrap=True)
    console.print(_firing_table(found["firing"], now))
    watchdog = found["watchdog"]
    if watchdog is not None:
        console.print(_watchdog_line(watchdog))
    console.print(_notifications_table(found["notifications"]))
    if found["silences"]:
        table = Table(title="Silences", title_justify="left", header_style="bold")
        for column in ("id", "matchers", "ends", "by / comment"):
            table.add_column(column, overflow="fold")
        for s in found["silences"]:
            table.add_row(s.id[:8], s.matchers, age_until(s.ends_at, now), f"{s.created_by}: {s.comment}")
        console.print(table)
    else:
        console.print("Silences: none")


def age_until(timestamp: str, now: datetime) -> str:
    moment = parse_time(timestamp)
    return "-" if moment is None else f"in {age(now.isoformat(), moment)}"


def _firing_table(rows: list[AlertRow], now: datetime) -> Table:
    table = Table(title="Alerts now (Prometheus + Alertmanager)", title_justify="left", header_style="bold")
    table.add_column("alert / service", no_wrap=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("state / for", no_wrap=True)
    table.add_column("summary / runbook", overflow="fold", ratio=1)
    for r in rows:
        style = _SEVERITY_STYLE.get(r.severity) if r.state in ("notified", "firing") else "dim"
        detail = escape(r.summary) + (f"\n[dim]{escape(r.runbook)}[/]" if r.runbook else "")
        table.add_row(
            f"{r.alertname}\n[dim]{escape(r.service)}[/]", r.severity, f"{r.state}\n{age(r.since, now)}", detail, style=style
        )
    if not rows:
        table.add_row("-", "", "", "nothing pending or firing (not even the Watchdog)")
    return table


def _watchdog_line(watchdog: dict[str, Any]) -> str:
    state = watchdog.get("state")
    silent = watchdog.get("silent_for_s", 0)
    every = watchdog.get("expected_interval_s", 0)
    if state == "missing":
        return (
            f"[bold red]Watchdog MISSING[/]: no notification for {silent:.0f} s (expected every ~{every:.0f} s). "
            "Prometheus, Alertmanager or the path between them is broken."
        )
    if state == "waiting":
        return f"Watchdog: none received yet ({silent:.0f} s since the receiver started)"
    return f"Watchdog: ok, last {silent:.0f} s ago (every ~{every:.0f} s)"


def _notifications_table(notifications: list[dict[str, Any]]) -> Table:
    table = Table(title="Recent notifications at the receiver", title_justify="left", header_style="bold")
    table.add_column("received", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("alert", no_wrap=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("service", overflow="fold")
    for n in notifications:
        labels = n.get("labels") or {}
        when = datetime.fromtimestamp(float(n.get("received_at", 0))).strftime("%H:%M:%S")
        style = "green" if n.get("status") == "resolved" else _SEVERITY_STYLE.get(labels.get("severity", ""))
        table.add_row(
            when, n.get("status", ""), n.get("alertname", ""), labels.get("severity", ""), labels.get("service", ""), style=style
        )
    if not notifications:
        table.add_row("-", "", "none in this period", "", "")
    return table


@app.command()
@stack_options
def silence(
    options: GlobalOptions,
    alertname: Annotated[str, typer.Argument(help="The alert to silence, e.g. AgentDown.")],
    duration: Annotated[str, typer.Option("--for", help="How long: 30m, 2h, …")] = "1h",
    comment: Annotated[str, typer.Option("--comment", help="Why (Alertmanager requires one).")] = "",
    service: Annotated[str | None, typer.Option("--service", help="Only this service's alert.", show_default=False)] = None,
) -> None:
    """Silence one alert (optionally for one service) at Alertmanager for a while.

    Example: atctl alerts silence AgentDown --for 30m --comment "restarting agents"
    """
    if not comment.strip():
        raise StackError("--comment is required: say why, so the next person knows (e.g. --comment 'deploy')")
    seconds = _duration(duration, "--for")
    stack = attach_stack(options)
    request = silence_request(alertname, seconds, comment, getpass.getuser(), datetime.now(UTC), service)
    with AlertClient(AlertSources.of(stack.settings)) as client:
        try:
            silence_id = client.create_silence(request)
        except AlertSourceError as error:
            raise StackError(str(error)) from None
    console.print(f"Silenced {escape(alertname)}{' for ' + escape(service) if service else ''} for {duration}: {silence_id}")


def status_line(stack_settings: Any) -> str:
    """The line ``atctl status`` adds: what fires now (or why that is unknown)."""
    with AlertClient(AlertSources.of(stack_settings), timeout_s=1.0) as client:
        try:
            prometheus = client.prometheus_alerts()
        except AlertSourceError:
            return "Firing: unknown (Prometheus is not answering)"
        try:
            manager: list[dict[str, Any]] | None = client.alertmanager_alerts()
        except AlertSourceError:
            manager = None
    return status_text(alert_rows(prometheus, manager))


def register(root: typer.Typer) -> None:
    root.add_typer(app)
