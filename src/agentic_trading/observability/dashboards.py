"""Grafana dashboard JSON as typed data: panels (rows included), their targets, variables, uid.

Pure: nothing here talks to Prometheus or Grafana. Every panel, target and variable
knows its file and line, so a lint finding points at it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from agentic_trading.observability.errors import ObservabilityError
from agentic_trading.observability.source import Location, SourceMap, line_of, read_json

# Panels that show no query by design.
QUERYLESS_PANEL_TYPES = frozenset({"row", "text", "dashlist", "news", "annolist", "welcome"})


@dataclass(frozen=True)
class Target:
    ref_id: str
    expr: str
    datasource: Any
    hidden: bool
    location: Location


@dataclass(frozen=True)
class Panel:
    id: Any
    title: str
    type: str
    datasource: Any
    targets: tuple[Target, ...]
    location: Location


@dataclass(frozen=True)
class PanelQuery:
    dashboard: str  # uid
    panel: str  # title
    ref_id: str
    expr: str
    location: Location | None = None

    @property
    def label(self) -> str:
        return f"{self.dashboard} / {self.panel} / {self.ref_id}"


@dataclass(frozen=True)
class Variable:
    name: str
    type: str
    query: str
    include_all: bool
    all_value: str | None
    options: tuple[str, ...]
    location: Location | None = None


@dataclass(frozen=True)
class Dashboard:
    """One dashboard file; ``document`` is the JSON as read, the rest is derived from it."""

    path: Path
    document: dict[str, Any]

    @property
    def uid(self) -> str:
        return str(self.document.get("uid") or self.path.stem)

    @property
    def title(self) -> str:
        return str(self.document.get("title") or self.uid)

    @property
    def tags(self) -> list[str]:
        return [str(tag) for tag in self.document.get("tags") or []]

    def at(self, key: str) -> Location:
        """Where a top-level key (``uid``, ``templating``…) is written."""
        document = self.document
        line = document.key_line(key) if isinstance(document, SourceMap) else 0
        return Location(self.path, line)

    @cached_property
    def _panels(self) -> tuple[Panel, ...]:
        found: list[Panel] = []
        for panel in self.document.get("panels") or []:
            if panel.get("type") != "row":
                found.append(self._panel(panel))
            found.extend(self._panel(child) for child in panel.get("panels") or [] if child.get("type") != "row")
        return tuple(found)

    def panels(self) -> tuple[Panel, ...]:
        """Every panel, those inside rows (open or collapsed) included; rows themselves left out."""
        return self._panels

    def _panel(self, panel: dict[str, Any]) -> Panel:
        where = Location(self.path, line_of(panel))
        targets = []
        for index, target in enumerate(panel.get("targets") or []):
            ref_id = str(target.get("refId") or chr(ord("A") + index))
            expr = str(target.get("expr") or "").strip()
            location = Location(self.path, line_of(target, where.line))
            targets.append(Target(ref_id, expr, target.get("datasource"), bool(target.get("hide")), location))
        title = str(panel.get("title") or f"panel {panel.get('id', '?')}")
        return Panel(panel.get("id"), title, str(panel.get("type", "")), panel.get("datasource"), tuple(targets), where)

    def queries(self) -> list[PanelQuery]:
        """Every visible target with a query."""
        return [
            PanelQuery(self.uid, panel.title, target.ref_id, target.expr, target.location)
            for panel in self._panels
            for target in panel.targets
            if target.expr and not target.hidden
        ]

    def variables(self) -> list[Variable]:
        variables = []
        for item in (self.document.get("templating") or {}).get("list") or []:
            query = item.get("query")
            if isinstance(query, dict):
                query = query.get("query", "")
            options = tuple(str(option.get("value")) for option in item.get("options") or [] if option.get("value") != "$__all")
            variables.append(
                Variable(
                    name=str(item.get("name", "")),
                    type=str(item.get("type", "")),
                    query=str(query or item.get("definition") or ""),
                    include_all=bool(item.get("includeAll")),
                    all_value=item.get("allValue") or None,
                    options=options,
                    location=Location(self.path, line_of(item)),
                )
            )
        return variables


def load_dashboard(path: Path) -> Dashboard:
    document = read_json(Path(path), what="dashboard")
    # An export "for sharing externally" wraps nothing; an API answer wraps it in "dashboard".
    if "dashboard" in document and "panels" not in document:
        document = document["dashboard"]
    return Dashboard(Path(path), document)


def dashboard_paths(directory: Path) -> list[Path]:
    directory = Path(directory)
    if not directory.is_dir():
        raise ObservabilityError(f"no dashboards directory {directory}: pass --dashboards-dir")
    paths = sorted(directory.glob("*.json"))
    if not paths:
        raise ObservabilityError(f"{directory} holds no *.json dashboards")
    return paths


def datasource_uids(dashboards: Iterable[Dashboard]) -> list[str]:
    """The datasource uids the panels name (``prometheus`` for this project's dashboards)."""
    uids: list[str] = []
    for dashboard in dashboards:
        for panel in dashboard.panels():
            for source in [panel.datasource] + [target.datasource for target in panel.targets]:
                uid = source.get("uid") if isinstance(source, dict) else None
                if uid and "$" not in uid and uid not in uids:
                    uids.append(str(uid))
    return uids
