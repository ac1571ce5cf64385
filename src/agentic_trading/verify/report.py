"""Reports of a verify run: Rich text for people, one JSON object for tools, JUnit XML for CI.

Every failure says what was checked, what was found and the query (or command) that
shows it again. The HTML report is in ``html.py``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from agentic_trading.verify.model import Report, Result, Status

MARKS = {Status.passed: "✓", Status.failed: "✗", Status.skipped: "–"}
STYLES = {Status.passed: "green", Status.failed: "red", Status.skipped: "yellow"}
MAX_DETAIL_LINES = 12


# --- text ---------------------------------------------------------------------------------------


def summary_table(report: Report) -> Table:
    table = Table(title=report.title, title_justify="left", header_style="bold")
    table.add_column("category")
    for column in ("passed", "failed", "skipped", "time"):
        table.add_column(column, justify="right")
    for category in report.categories():
        results = report.in_category(category)
        counts = {status: sum(1 for r in results if r.status is status) for status in Status}
        failed = counts[Status.failed]
        table.add_row(
            f"[{'red' if failed else 'green'}]{MARKS[Status.failed if failed else Status.passed]} {category}[/]",
            str(counts[Status.passed]),
            f"[red]{failed}[/]" if failed else "0",
            str(counts[Status.skipped]),
            f"{sum(r.duration_s for r in results):.1f} s",
        )
    return table


def _describe(result: Result, console: Console, indent: str = "    ") -> None:
    style = STYLES[result.status]
    console.print(f"  [{style}]{MARKS[result.status]} {escape(result.name)}[/]", soft_wrap=True)
    if result.status is Status.failed:
        console.print(f"{indent}[dim]checked:[/] {escape(result.description)}", soft_wrap=True)
        console.print(f"{indent}[dim]found:[/]   {escape(result.message)}", soft_wrap=True)
    else:
        console.print(f"{indent}[dim]{escape(result.message)}[/]", soft_wrap=True)
    if result.query and result.status is Status.failed:
        console.print(f"{indent}[dim]query:[/]   [cyan]{escape(result.query.strip())}[/]", soft_wrap=True)
    if result.details and result.status is Status.failed:
        for line in result.details[:MAX_DETAIL_LINES]:
            console.print(f"{indent}  · {escape(line)}", soft_wrap=True)
        if len(result.details) > MAX_DETAIL_LINES:
            console.print(f"{indent}  · … {len(result.details) - MAX_DETAIL_LINES} more (--format json has all)")


def render_text(report: Report, console: Console, *, verbose: bool = False) -> None:
    """Summary table, then per category its failures (and skips) in full; passes listed with -v."""
    where = "  ·  ".join(f"{name} {url}" for name, url in report.endpoints.items())
    if where:
        console.print(f"[dim]{escape(where)}[/]", soft_wrap=True)
    console.print(summary_table(report))
    for category in report.categories():
        results = report.in_category(category)
        failed = [r for r in results if r.status is Status.failed]
        skipped = [r for r in results if r.status is Status.skipped]
        passed = [r for r in results if r.status is Status.passed]
        style = "red" if failed else "green"
        counts = f"{len(passed)} passed, {len(failed)} failed, {len(skipped)} skipped"
        console.print(f"\n[bold {style}]{category}[/] [dim]({counts})[/]")
        for result in failed + skipped:
            _describe(result, console)
        if verbose:
            for result in passed:
                _describe(result, console)
    verdict = "[bold green]PASSED[/]" if report.ok else "[bold red]FAILED[/]"
    console.print(
        f"\n{verdict}: {report.passed} passed, {report.failed} failed, {report.skipped} skipped in {report.duration_s:.1f} s"
    )


# --- JSON ---------------------------------------------------------------------------------------


def report_json(report: Report) -> dict[str, Any]:
    """``{"passed": N, "failed": N, "skipped": N, "checks": [...]}``."""
    return {
        "passed": report.passed,
        "failed": report.failed,
        "skipped": report.skipped,
        "checks": [result.as_dict() for result in report.results],
    }


# --- JUnit XML ----------------------------------------------------------------------------------


def _failure_text(result: Result) -> str:
    lines = [f"checked: {result.description}", f"found: {result.message}"]
    if result.query:
        lines.append(f"query: {result.query.strip()}")
    lines.extend(f"  {line}" for line in result.details)
    return "\n".join(lines)


def render_junit(report: Report) -> str:
    """One <testsuite> per category, one <testcase> per check; failures carry what/found/query."""
    root = ET.Element(
        "testsuites",
        name=report.title,
        tests=str(len(report.results)),
        failures=str(report.failed),
        errors="0",
        skipped=str(report.skipped),
        time=f"{report.duration_s:.3f}",
    )
    for category in report.categories():
        results = report.in_category(category)
        suite = ET.SubElement(
            root,
            "testsuite",
            name=category,
            tests=str(len(results)),
            failures=str(sum(r.status is Status.failed for r in results)),
            errors="0",
            skipped=str(sum(r.status is Status.skipped for r in results)),
            time=f"{sum(r.duration_s for r in results):.3f}",
        )
        for result in results:
            case = ET.SubElement(
                suite, "testcase", classname=f"verify.{category}", name=result.name, time=f"{result.duration_s:.3f}"
            )
            if result.status is Status.failed:
                failure = ET.SubElement(case, "failure", message=result.message, type="CheckFailed")
                failure.text = _failure_text(result)
            elif result.status is Status.skipped:
                ET.SubElement(case, "skipped", message=result.message)
            else:
                ET.SubElement(case, "system-out").text = result.message
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
