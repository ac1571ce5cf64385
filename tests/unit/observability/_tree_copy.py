"""A doctored copy of the observability tree: copy, break one thing, lint.

A module of its own (not conftest.py): several conftest.py files share that name, so
`from conftest import ...` would pick whichever was loaded last.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agentic_trading.observability import Finding, ObservabilityTree, default_root, lint_tree, load_tree


@dataclass
class TreeCopy:
    """A copy of observability/ and docs/runbooks/ laid out as in the repository, to doctor."""

    root: Path  # the copy's observability/

    @property
    def runbooks(self) -> Path:
        return self.root.parent / "docs" / "runbooks"

    def edit(self, relative: str, change: Callable[[str], str]) -> Path:
        path = self.root / relative
        before = path.read_text()
        after = change(before)
        assert after != before, f"the doctoring of {relative} changed nothing"
        path.write_text(after)
        return path

    def replace(self, relative: str, old: str, new: str) -> Path:
        return self.edit(relative, lambda text: _replace_once(text, old, new))

    def line_of(self, path: Path, text: str, after: str | None = None) -> int:
        """The 1-based line of the first ``text`` (after the line holding ``after``)."""
        lines = path.read_text().splitlines()
        start = next(i for i, line in enumerate(lines) if after in line) if after else 0
        return next(i for i, line in enumerate(lines) if i >= start and text in line) + 1

    def tree(self) -> ObservabilityTree:
        return load_tree(self.root)

    def lint(self) -> list[Finding]:
        return lint_tree(self.tree())


def _replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def copy_tree(destination: Path) -> TreeCopy:
    """observability/ (without the specification's scripts) and docs/runbooks/, laid out as in the repository."""
    source = default_root()
    shutil.copytree(source, destination / "observability", ignore=lambda d, names: ["tests"] if Path(d) == source else [])
    shutil.copytree(source.parent / "docs" / "runbooks", destination / "docs" / "runbooks")
    return TreeCopy(destination / "observability")
