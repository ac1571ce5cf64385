"""``atctl chaos run`` results as text (a table), JSON (the issue's shape) and JUnit XML. Pure."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import PurePath
from typing import Any
from xml.etree import ElementTree

from agentic_trading.chaos.runner import ExperimentResult


def to_json(results: Sequence[ExperimentResult]) -> str:
    return json.dumps({"experiments": [r.to_json() for r in results]}, indent=2)


def durations_of(report: Mapping[str, Any]) -> dict[str, float]:
    """Each experiment's ``duration_s`` from a parsed JSON report (what plans ``--stacks``)."""
    return {e["name"]: float(e["duration_s"]) for e in report["experiments"] if e.get("duration_s")}


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def text_rows(results: Sequence[ExperimentResult]) -> list[tuple[str, ...]]:
    """One row per experiment: name, alert, status, fire, AM, notify, resolve (seconds), signals."""
    rows = []
    for r in results:
        signals = "-" if r.signals_accepted is None else f"{r.signals_decided}/{r.signals_accepted}"
        rows.append(
            (
                r.name,
                r.alert,
                r.status,
                _cell(r.time_to_fire_s),
                _cell(r.time_to_alertmanager_s),
                _cell(r.time_to_notify_s),
                _cell(r.time_to_resolve_s),
                signals,
            )
        )
    return rows


TEXT_HEADERS = ("experiment", "alert", "status", "fire", "AM", "notify", "resolve", "decided")


def to_junit(results: Sequence[ExperimentResult], suite: str = "atctl chaos") -> str:
    """JUnit XML: one testcase per experiment; failed → <failure>, skipped or inconclusive → <skipped>."""
    failed = [r for r in results if r.status in ("failed", "interrupted")]
    skipped = [r for r in results if r.status in ("skipped", "inconclusive")]
    root = ElementTree.Element(
        "testsuite",
        name=suite,
        tests=str(len(results)),
        failures=str(len(failed)),
        skipped=str(len(skipped)),
        time=f"{sum(r.duration_s for r in results):.2f}",
    )
    for r in results:
        case = ElementTree.SubElement(
            root, "testcase", classname="chaos", name=f"{r.name} ({r.alert})", time=f"{r.duration_s:.2f}"
        )
        if r.status in ("failed", "interrupted"):
            ElementTree.SubElement(case, "failure", message=r.message).text = json.dumps(r.to_json(), indent=2)
        elif r.status in ("skipped", "inconclusive"):
            ElementTree.SubElement(case, "skipped", message=r.message)
        else:
            ElementTree.SubElement(case, "system-out").text = json.dumps(r.to_json(), indent=2)
    return ElementTree.tostring(root, encoding="unicode", xml_declaration=True)


MARKDOWN_HEADERS = (
    "experiment",
    "alert",
    "fault",
    "result",
    "fire",
    "AM",
    "notify",
    "resolve",
    "budget notify / resolve",
    "decided / accepted",
    "took",
)


def _md(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _budget(value: float | None) -> str:
    return "–" if value is None else f"{value:g}"


def to_markdown(results: Sequence[ExperimentResult], faults: Mapping[str, str] | None = None) -> str:
    """The table of docs/chaos.md, one row per experiment in name order (so nobody copies it by hand).

    A run over several stacks adds the column ``stack``: the last part of its state directory.

    ``faults``: each experiment's fault as its file describes it (the result's is the run's own
    wording, with pids and rule counts).
    """
    described = faults or {}
    sharded = len({r.stack for r in results}) > 1  # a run over several stacks (--stacks): say which
    headers = (*MARKDOWN_HEADERS, "stack") if sharded else MARKDOWN_HEADERS
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for r in sorted(results, key=lambda r: r.name):
        verdict = r.status if r.status == "passed" else f"{r.status}: {r.message}"
        signals = "–" if r.signals_accepted is None else f"{r.signals_decided} / {r.signals_accepted}"
        cells = (
            f"`{r.name}`",
            r.alert,
            described.get(r.name, r.fault),
            verdict.replace("|", "/"),
            _md(r.time_to_fire_s),
            _md(r.time_to_alertmanager_s),
            _md(r.time_to_notify_s),
            _md(r.time_to_resolve_s),
            f"{_budget(r.notify_budget_s)} / {_budget(r.resolve_budget_s)}",
            signals,
            f"{r.duration_s:.0f} s",
        )
        if sharded:
            cells = (*cells, f"`{PurePath(r.stack).name}`")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
