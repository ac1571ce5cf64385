"""``atctl up``, ``atctl down``, ``atctl status``: the stack as a whole."""

from __future__ import annotations

import json
import os
from enum import StrEnum
from typing import Annotated

import typer
from rich.markup import escape

from agentic_trading.cli.alerts import status_line
from agentic_trading.cli.common import (
    JSON,
    TEXT,
    FormatOption,
    GlobalOptions,
    attach_stack,
    console,
    err_console,
    settings_from,
    stack_options,
)
from agentic_trading.cli.tables import progress_line, status_table, unhealthy_logs, up_table
from agentic_trading.settings import config_file_values, find_config_file
from agentic_trading.stack import ComponentStatus, Stack
from agentic_trading.stack.errors import StartTimeoutError
from agentic_trading.stack.programs import PROGRAM_NAMES
from agentic_trading.stack.state import replace_settings


class Profile(StrEnum):
    fast = "fast"
    production = "production"


def config_file_settings() -> dict[str, object]:
    """The settings the config file (atctl.toml or AT_CONFIG) sets, or none without one."""
    path = find_config_file()
    return config_file_values(path) if path is not None else {}


def _split_names(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


@stack_options
def up(
    options: GlobalOptions,
    demo: Annotated[bool, typer.Option("--demo", help="Also start the demo traffic generator.")] = False,
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            help="Start only these programs (comma-separated or repeated). Known: " + ", ".join(PROGRAM_NAMES),
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="Seconds to wait for every program to become healthy.")
    ] = 60.0,
    profile: Annotated[
        Profile | None,
        typer.Option(
            "--profile",
            help="Alert timings: fast (seconds, as the tests) or production (observability/ as written). "
            "Default: AT_PROFILE, the config file, the running stack's, else fast.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Start the local stack under supervisord and wait until every program is healthy.

    Idempotent: on a running stack it starts what is missing and applies config changes
    (a new --profile restarts Prometheus and Alertmanager with the other timings).
    Exits 1, with the last log lines of what is unhealthy, if the deadline passes.
    """
    stack = Stack(settings_from(options))
    where = escape(str(stack.paths.state_dir))
    running = stack.is_running()
    if running and options.port_offset is None and "AT_PORT_OFFSET" not in os.environ:
        stack = Stack.attach(stack.paths.state_dir, stack.settings)  # keep its ports: no offset to repeat
        if "AT_PROFILE" in os.environ or "profile" in config_file_settings():
            stack = Stack(replace_settings(stack.settings, profile=settings_from(options).profile))
    if profile is not None:
        stack = Stack(replace_settings(stack.settings, profile=profile.value))
    offset, chosen = stack.settings.port_offset, stack.settings.profile
    previous = stack.record() if running else None
    if running:
        console.print(
            f"The stack in [bold]{where}[/] is already running (port offset {offset}, profile {chosen}): "
            "starting what is missing and applying config changes",
            soft_wrap=True,
        )
    else:
        console.print(f"Starting the stack in [bold]{where}[/] (port offset {offset}, profile [bold]{chosen}[/])", soft_wrap=True)
    try:
        with err_console.status("Checking ports and rendering configs…") as spinner:

            def show(statuses: list[ComponentStatus]) -> None:
                spinner.update(progress_line(statuses))

            statuses = stack.up(_split_names(only), demo=demo, timeout=timeout, on_progress=show)
            if previous is not None and previous.settings.profile != chosen:
                statuses = _restart_alertmanager(stack, statuses, timeout)
    except StartTimeoutError as exc:
        _report_unhealthy(stack, exc)
        raise
    console.print(up_table(statuses, title="Stack is up"))
    console.print(
        f"Logs: {escape(str(stack.paths.log_dir))}  ·  `atctl status`  ·  `atctl logs -f`  ·  `atctl down`",
        soft_wrap=True,
    )


def _restart_alertmanager(stack: Stack, statuses: list[ComponentStatus], timeout: float) -> list[ComponentStatus]:
    """A new profile changes alertmanager.yml but not its command line: supervisord would keep it running.

    (Prometheus's command line differs between the profiles, so ``Stack.up`` restarts it.)
    """
    if not any(s.name == "alertmanager" for s in statuses):
        return statuses
    restarted = stack.restart("alertmanager", timeout=timeout)
    return [restarted if s.name == "alertmanager" else s for s in statuses]


def _report_unhealthy(stack: Stack, error: StartTimeoutError) -> None:
    try:
        statuses = stack.status()
    except Exception as exc:  # noqa: BLE001 - the start failure is what we report; status is extra
        err_console.print(f"[yellow]could not read the status ({escape(str(exc))})[/]")
    else:
        console.print(status_table(statuses, title="Stack status"))
    console.print(unhealthy_logs(stack, list(error.unhealthy)))
    err_console.print("[dim]The stack is left as it is for inspection: `atctl logs NAME`, then `atctl down`.[/]")


@stack_options
def down(
    options: GlobalOptions,
    purge: Annotated[bool, typer.Option("--purge", help="Also delete the state directory (configs, data, logs).")] = False,
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="Seconds to wait for everything to stop.")] = 60.0,
) -> None:
    """Stop every program and supervisord. Data is kept unless --purge."""
    stack = Stack(settings_from(options))
    where = escape(str(stack.paths.state_dir))
    with err_console.status(f"Stopping the stack in {where}…"):
        was_running = stack.down(purge=purge, timeout=timeout)
    if not was_running:
        console.print(f"No stack running in {where}.")
    else:
        console.print(f"Stopped the stack in {where}.")
    if purge:
        console.print(f"Deleted {where}.")
    elif was_running:
        console.print("Data kept; `atctl down --purge` deletes it.")


@stack_options
def status(
    options: GlobalOptions,
    output: FormatOption = TEXT,
) -> None:
    """Show every program: pid, state, uptime, health, URL, and a line with what fires now.

    Exit code 0 when all are healthy, 1 when any is not, 2 when there is no stack.
    """
    stack = attach_stack(options)
    statuses = stack.status()
    healthy = all(s.healthy for s in statuses)
    if output == JSON:
        body = {
            "state_dir": str(stack.paths.state_dir),
            "port_offset": stack.settings.port_offset,
            "profile": stack.settings.profile,
            "healthy": healthy,
            "components": [s.to_dict() for s in statuses],
        }
        typer.echo(json.dumps(body, indent=2))
    else:
        console.print(status_table(statuses, title=f"Stack in {stack.paths.state_dir}"))
        if any(s.name == "prometheus" and s.healthy for s in statuses):
            console.print(escape(status_line(stack.settings)), soft_wrap=True)
    if not healthy:
        raise typer.Exit(1)


UP_EXAMPLES = """
Examples:

  atctl up                              # the whole stack, default ports
  atctl up --demo                       # with demo traffic
  atctl up --port-offset 5000 --state-dir /tmp/stack2   # beside another stack
  atctl up --only nats,redis,gateway
  atctl up --profile production         # alert timings as in observability/
"""
DOWN_EXAMPLES = """
Examples:

  atctl down            # stop, keep data
  atctl down --purge    # stop and delete the state directory
"""
STATUS_EXAMPLES = """
Examples:

  atctl status
  atctl status --state-dir /tmp/stack2   # ports come from its stack.json
  atctl status --format json | jq '.components[] | select(.healthy | not)'
"""


def register(app: typer.Typer) -> None:
    app.command(epilog=UP_EXAMPLES)(up)
    app.command(epilog=DOWN_EXAMPLES)(down)
    app.command(epilog=STATUS_EXAMPLES)(status)
