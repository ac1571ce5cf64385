"""The runbooks (``docs/runbooks/<AlertName>.md``) present, their headings, and the index page."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from agentic_trading.observability.errors import ObservabilityError

INDEX = "README.md"


@dataclass(frozen=True)
class Runbook:
    name: str  # the alert it is for
    path: Path
    title: str  # the first line
    headings: tuple[str, ...]  # every "## " line


@dataclass(frozen=True)
class Runbooks:
    directory: Path
    pages: Mapping[str, Runbook]
    index: str | None  # README.md's text, when there is one

    def page(self, alert: str) -> Runbook | None:
        return self.pages.get(alert)

    def path_for(self, alert: str) -> Path:
        return self.directory / f"{alert}.md"


def load_runbooks(directory: Path) -> Runbooks:
    """Every ``*.md`` but the index; a missing directory reads as no runbooks (the lint says which)."""
    directory = Path(directory)
    pages: dict[str, Runbook] = {}
    if directory.is_dir():
        for path in sorted(directory.glob("*.md")):
            if path.name == INDEX:
                continue
            try:
                lines = path.read_text().splitlines()
            except OSError as exc:
                raise ObservabilityError(f"cannot read the runbook {path}: {exc.strerror or exc}") from exc
            headings = tuple(line.rstrip() for line in lines if line.startswith("## "))
            pages[path.stem] = Runbook(path.stem, path, lines[0].rstrip() if lines else "", headings)
    index_path = directory / INDEX
    index = index_path.read_text() if index_path.is_file() else None
    return Runbooks(directory, MappingProxyType(pages), index)
