"""``atctl lint``: the static checks of the observability tree, no server needed.

Thin over :func:`agentic_trading.observability.lint_tree`. ``make lint`` (and so CI)
runs it beside ruff, before the tests.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from agentic_trading.cli.common import console, debug_option, err_console, tree_options
from agentic_trading.observability import AREAS, lint_tree, load_tree


class LintFormat(StrEnum):
    text = "text"
    json = "json"


Area = StrEnum("Area", {name: name for name in AREAS})


@debug_option
@tree_options
def lint(
    tree: dict[str, Path | None],
    area: Annotated[
        list[Area] | None,
        typer.Option("--area", "-a", help="Lint only this area (repeatable): alerts, dashboards, catalog.", show_default="all"),
    ] = None,
    output_format: Annotated[
        LintFormat, typer.Option("--format", help="text (one finding a line) or json (one object).")
    ] = LintFormat.text,
) -> None:
    """Check the alerts, dashboards and metric catalog against their invariants, offline.

    Every alert has a firing and a quiet promtool case, a runbook, a known severity and its runbook_url; every metric a rule or panel selects is catalogued with its labels, and every catalogued one is used; dashboards have unique uids and resolvable variables; routes name known receivers. Each finding says file:line, a code and the fix.

    Exit 0 no findings, 1 findings, 2 a file could not be read.

    Examples:

        atctl lint

        atctl lint --area alerts --format json

        atctl lint --rules-dir /tmp/prometheus-copy
    """
    areas = [a.value for a in area] if area else list(AREAS)
    loaded = load_tree(**tree)
    findings = lint_tree(loaded, areas)
    if output_format is LintFormat.json:
        body = {
            "areas": areas,
            "ok": not findings,
            "findings": [finding.as_dict() for finding in findings],
        }
        typer.echo(json.dumps(body, indent=2))
    else:
        for finding in findings:
            console.print(escape(finding.describe()), soft_wrap=True)
        what = f"{len(loaded.alerts)} alerts, {len(loaded.dashboards)} dashboards, {len(loaded.catalog.metrics)} metrics"
        if findings:
            err_console.print(f"[red]{len(findings)} finding{'s' if len(findings) != 1 else ''}[/] ({what})")
        else:
            err_console.print(f"[green]no findings[/] in {', '.join(areas)} ({what})")
    if findings:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(lint)
