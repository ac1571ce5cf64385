"""A lint finding: a code that names the rule broken, where, and what to do."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentic_trading.observability.source import Location


@dataclass(frozen=True, order=True)
class Finding:
    location: Location
    code: str
    message: str

    @property
    def file(self) -> Path:
        return self.location.file

    @property
    def line(self) -> int:
        return self.location.line

    def describe(self, base: Path | None = None) -> str:
        """``path:line: code: message``, the path relative to ``base`` (default: the working directory)."""
        return f"{display_path(self.location.file, base)}:{self.line}: {self.code}: {self.message}"

    def as_dict(self, base: Path | None = None) -> dict[str, Any]:
        return {"code": self.code, "file": display_path(self.location.file, base), "line": self.line, "message": self.message}


def display_path(path: Path, base: Path | None = None) -> str:
    """``path`` relative to ``base`` (or the working directory) when under it, else as given."""
    start = Path(base) if base is not None else Path.cwd()
    try:
        return str(Path(path).resolve().relative_to(start.resolve()))
    except ValueError:
        return os.fspath(path)
