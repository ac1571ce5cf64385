"""``atctl``: run and inspect the local Agentic Trading stack.

Commands are thin: the work is in :mod:`agentic_trading.stack` (and verify, load, ...).
Errors are reported once for all commands by :class:`~agentic_trading.cli.common.ReportingGroup`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from agentic_trading import __version__
from agentic_trading.cli import alerts, chaos, control, dashboards, generate, lint, load, logs, scenario, stack, summary, trace
from agentic_trading.cli import verify as verify_command
from agentic_trading.cli.common import DebugOption, GlobalOptions, PortOffsetOption, ReportingGroup, StateDirOption
from agentic_trading.cli.help_text import reflow_app

app = typer.Typer(
    name="atctl",
    cls=ReportingGroup,  # every command's known errors: one red line and their exit code
    help=(
        "Run the local Agentic Trading stack (NATS, Redis, gateway, agents, orchestrator, "
        "Prometheus, Alertmanager, …) under supervisord, and look inside it.\n\n"
        "Every command takes --state-dir and --port-offset, so a second stack runs beside the first."
    ),
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"atctl {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    state_dir: StateDirOption = None,
    port_offset: PortOffsetOption = None,
    debug: DebugOption = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")] = False,
) -> None:
    ctx.obj = GlobalOptions(state_dir=state_dir, port_offset=port_offset, debug=debug)


stack.register(app)
control.register(app)
logs.register(app)
trace.register(app)
summary.register(app)
load.register(app)  # cli/load.py belongs to the load-testing work
verify_command.register(app)  # cli/verify.py: atctl verify, atctl health
generate.register(app)
dashboards.register(app)  # cli/dashboards.py: atctl dashboards screenshot
lint.register(app)  # cli/lint.py: atctl lint, the observability tree's static checks
alerts.register(app)  # cli/alerts.py: atctl alerts, atctl alerts silence
chaos.register(app)  # cli/chaos.py: atctl chaos list|run
scenario.register(app)  # cli/scenario.py: atctl scenario NAME
reflow_app(app)  # cli/help_text.py: prose paragraphs wrap once at the terminal's width
