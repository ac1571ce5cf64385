"""Grafana dashboard JSON as data: panels (rows included), their queries, template variables, lint.

Pure: nothing here talks to Prometheus or Grafana (that is ``dashboards.py``).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentic_trading.verify.errors import VerifyInputError

# Panels that show no query by design.
QUERYLESS_PANEL_TYPES = frozenset({"row", "text", "dashlist", "news", "annolist", "welcome"})


@dataclass(frozen=True)
class PanelQuery:
    dashboard: str  # uid
    panel: str  # title
    ref_id: str
    expr: str

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


@dataclass(frozen=True)
class Dashboard:
    path: Path
    document: dict[str, Any]

    @property
    def uid(self) -> str:
        return str(self.document.get("uid") or self.path.stem)

    @property
    def title(self) -> str:
        return str(self.document.get("title") or self.uid)

    def panels(self) -> list[dict[str, Any]]:
        """Every panel, those inside rows (open or collapsed) included; rows themselves left out."""
        found = []
        for panel in self.document.get("panels") or []:
            if panel.get("type") != "row":
                found.append(panel)
            found.extend(child for child in panel.get("panels") or [] if child.get("type") != "row")
        return found

    def queries(self) -> list[PanelQuery]:
        queries = []
        for panel in self.panels():
            for index, target in enumerate(panel.get("targets") or []):
                expr = str(target.get("expr") or "").strip()
                if expr and not target.get("hide"):
                    ref_id = str(target.get("refId") or chr(ord("A") + index))
                    queries.append(PanelQuery(self.uid, _title(panel), ref_id, expr))
        return queries

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
                )
            )
        return variables


def _title(panel: dict[str, Any]) -> str:
    return str(panel.get("title") or f"panel {panel.get('id', '?')}")


def load_dashboard(path: Path) -> Dashboard:
    try:
        document = json.loads(Path(path).read_text())
    except OSError as exc:
        raise VerifyInputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise VerifyInputError(f"{path.name} is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise VerifyInputError(f"{path.name} is not a dashboard (a JSON object)")
    # An export "for sharing externally" wraps nothing; an API answer wraps it in "dashboard".
    if "dashboard" in document and "panels" not in document:
        document = document["dashboard"]
    return Dashboard(Path(path), document)


def dashboard_paths(directory: Path) -> list[Path]:
    directory = Path(directory)
    if not directory.is_dir():
        raise VerifyInputError(f"no dashboards directory {directory}: pass --dashboards-dir")
    paths = sorted(directory.glob("*.json"))
    if not paths:
        raise VerifyInputError(f"{directory} holds no *.json dashboards")
    return paths


def lint_dashboard(dashboard: Dashboard) -> list[str]:
    """What Grafana would show broken: panels without a datasource or without a query."""
    problems = []
    for panel in dashboard.panels():
        if panel.get("type") in QUERYLESS_PANEL_TYPES:
            continue
        targets = panel.get("targets") or []
        where = f"panel {_title(panel)!r}"
        if not panel.get("datasource") and not (targets and all(t.get("datasource") for t in targets)):
            problems.append(f"{where} has no datasource")
        if not any(str(t.get("expr") or "").strip() for t in targets):
            problems.append(f"{where} has no query")
    if not dashboard.document.get("uid"):
        problems.append("the dashboard has no uid (Grafana makes up a new one on every import)")
    return problems


def duplicate_uids(dashboards: Iterable[Dashboard]) -> dict[str, list[str]]:
    """uid -> the files that share it, for uids used more than once."""
    dashboards = list(dashboards)
    counts = Counter(d.uid for d in dashboards)
    return {uid: [d.path.name for d in dashboards if d.uid == uid] for uid, n in counts.items() if n > 1}


def datasource_uids(dashboards: Iterable[Dashboard]) -> list[str]:
    """The datasource uids the panels name (``prometheus`` for this project's dashboards)."""
    uids: list[str] = []
    for dashboard in dashboards:
        for panel in dashboard.panels():
            for source in [panel.get("datasource")] + [t.get("datasource") for t in panel.get("targets") or []]:
                uid = source.get("uid") if isinstance(source, dict) else None
                if uid and "$" not in uid and uid not in uids:
                    uids.append(str(uid))
    return uids
