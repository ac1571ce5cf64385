"""The dashboards the viewer serves: Grafana JSON files found by uid, read as they are.

Deliberately shallow: the server only needs each file's uid, title and tags to list and
route, and hands the document to the browser unchanged (the page interprets panels,
variables and queries, as Grafana's front end does). Files are read by the observability
model's loader (:func:`agentic_trading.observability.dashboards.load_dashboard`), so a broken
file is refused with the same ``file:line`` message as ``atctl lint`` gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentic_trading.errors import AgenticTradingError
from agentic_trading.observability.dashboards import dashboard_paths, load_dashboard


class DashboardFileError(AgenticTradingError):
    """A dashboard file cannot be served (unreadable, not JSON, no uid, a uid used twice)."""

    exit_code = 2


@dataclass(frozen=True)
class DashboardFile:
    """One Grafana dashboard file, its document exactly as provisioned."""

    path: Path
    document: dict[str, Any]

    @property
    def uid(self) -> str:
        return str(self.document["uid"])

    @property
    def title(self) -> str:
        return str(self.document.get("title") or self.uid)

    @property
    def tags(self) -> list[str]:
        return [str(tag) for tag in self.document.get("tags") or []]


def default_dashboards_dir() -> Path:
    """The repository's ``observability/grafana_dashboards`` (this file is four levels below the root)."""
    return Path(__file__).resolve().parents[3] / "observability" / "grafana_dashboards"


def read_dashboard(path: Path) -> DashboardFile:
    """One file as a dashboard; the error names the file and what to fix."""
    document = load_dashboard(path).document  # ObservabilityError with file:line when unreadable
    if not isinstance(document, dict) or not isinstance(document.get("panels"), list):
        raise DashboardFileError(f"{path}: not a Grafana dashboard (a JSON object with a panels list)")
    if not document.get("uid"):
        raise DashboardFileError(f"{path}: no uid: give the dashboard a fixed uid, URLs are /d/<uid>")
    return DashboardFile(path, document)


def read_dashboards(directory: Path) -> dict[str, DashboardFile]:
    """uid -> dashboard for every ``*.json`` in ``directory``, in file-name order."""
    if not directory.is_dir():
        raise DashboardFileError(f"no dashboards directory {directory}: set AT_DASHBOARDS_DIR to one")
    found: dict[str, DashboardFile] = {}
    for path in dashboard_paths(directory):
        dashboard = read_dashboard(path)
        if dashboard.uid in found:
            other = found[dashboard.uid].path.name
            raise DashboardFileError(f"{path.name} and {other} share uid {dashboard.uid!r}: give each its own")
        found[dashboard.uid] = dashboard
    if not found:
        raise DashboardFileError(f"{directory} holds no *.json dashboards")
    return found
