"""``atctl dashboards screenshot``: PNGs of the running stack's dashboards, as a browser shows them."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from agentic_trading.cli.common import GlobalOptions, attach_stack, console, err_console, stack_options
from agentic_trading.dashboards.auth import USER
from agentic_trading.dashboards.browser import Viewer, chromium

dashboards_app = typer.Typer(
    name="dashboards",
    help="The stack's dashboards viewer (Grafana JSON on port 3000 + offset): screenshots from a running stack.",
    no_args_is_help=True,
    epilog="Example:\n\n  atctl dashboards screenshot --uid gateway-001 --output /tmp/shots\n",
)


@stack_options
def screenshot(
    options: GlobalOptions,
    uid: Annotated[
        list[str] | None,
        typer.Option("--uid", help="Only these dashboards (repeat the option). Default: every dashboard.", show_default=False),
    ] = None,
    output: Annotated[Path, typer.Option("--output", help="Directory for <uid>.png.")] = Path("screenshots"),
    time_from: Annotated[str, typer.Option("--from", help="Start of the time range, as in a Grafana URL.")] = "now-15m",
    width: Annotated[int, typer.Option("--width", min=800, max=4000, help="Page width in pixels.")] = 1600,
) -> None:
    """Write a PNG of every dashboard (whole page) from the running stack's viewer.

    Logs in as admin with AT_DASHBOARDS_PASSWORD when the viewer asks for one. Exit 0 when every panel drew, 1 when a panel shows an error or unexpected "No data" (the PNG is still written, showing it), 2 when there is no stack or Chromium cannot run.

    Examples:

      atctl dashboards screenshot

      atctl dashboards screenshot --uid gateway-001 --output docs/images/dashboards --from now-30m
    """
    settings = attach_stack(options).settings
    password = settings.dashboards_password.get_secret_value() if settings.dashboards_password else "admin"
    troubled = 0
    with chromium(width=width) as driver:
        viewer = Viewer(driver, settings.url("dashboards"))
        viewer.log_in(USER, password)
        uids = uid or [hit["uid"] for hit in driver.execute_script("return fetch('/api/search').then((r) => r.json());")]
        for index, name in enumerate(uids, start=1):
            with err_console.status(f"[{index}/{len(uids)}] {escape(name)}…"):
                view = viewer.open(name, **{"from": time_from, "to": "now"})
                path = viewer.screenshot(output / f"{name}.png")
            states = Counter(panel.state for panel in view.panels)
            bad = states["error"] + states["empty"]
            troubled += bad > 0
            summary = ", ".join(f"{count} {state}" for state, count in sorted(states.items()))
            colour = "red" if bad else "green"
            console.print(f"[{colour}]{escape(name)}[/] -> {escape(str(path))} ({summary})", soft_wrap=True)  # paths whole
    if troubled:
        err_console.print(f"[red]{troubled} dashboard(s) have panels with errors or without data[/]")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    dashboards_app.command("screenshot")(screenshot)
    app.add_typer(dashboards_app)
