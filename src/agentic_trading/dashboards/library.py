"""The dashboards the viewer serves: Grafana JSON files found by uid, read as they are.

Deliberately shallow: the server only needs each file's uid, title and tags to list and
route, and hands the document to the browser unchanged (the page interprets panels,
variables and queries, as Grafana's front end does). Files are read by the observability
model's loader (:func:`agentic_trading.observability.dashboards.load_dashboard`), so a broken
file is refused with the same ``file:line`` message as ``atctl lint`` gives.
"""

from __future__ import annotations

from pathlib import Path

from agentic_trading.errors import AgenticTradingError
from agentic_trading.observability.dashboards import Dashboard, dashboard_paths, load_dashboard


class DashboardFileError(AgenticTradingError):
    """A dashboard file cannot be served (unreadable, not JSON, no uid, a uid used twice)."""

    exit_code = 2


def default_dashboards_dir() -> Path:
    """The repository's ``observability/grafana_dashboards`` (this file is four levels below the root)."""
    return Path(__file__).resolve().parents[3] / "observability" / "grafana_dashboards"


def read_dashboard(path: Path) -> Dashboard:
    """One file as a dashboard; the error names the file and what to fix."""
    dashboard = load_dashboard(path)  # ObservabilityError with file:line when unreadable
    document = dashboard.document
    if not isinstance(document, dict) or not isinstance(document.get("panels"), list):
        raise DashboardFileError(f"{path}: not a Grafana dashboard (a JSON object with a panels list)")
    if not document.get("uid"):
        raise DashboardFileError(f"{path}: no uid: give the dashboard a fixed uid, URLs are /d/<uid>")
    return dashboard


def read_dashboards(directory: Path) -> dict[str, Dashboard]:
    """uid -> dashboard for every ``*.json`` in ``directory``, in file-name order."""
    if not directory.is_dir():
        raise DashboardFileError(f"no dashboards directory {directory}: set AT_DASHBOARDS_DIR to one")
    found: dict[str, Dashboard] = {}
    for path in dashboard_paths(directory):
        dashboard = read_dashboard(path)
        if dashboard.uid in found:
            other = found[dashboard.uid].path.name
            raise DashboardFileError(f"{path.name} and {other} share uid {dashboard.uid!r}: give each its own")
        found[dashboard.uid] = dashboard
    if not found:
        raise DashboardFileError(f"{directory} holds no *.json dashboards")
    return found
