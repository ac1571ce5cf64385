"""The alerts an experiment set must cover, read from the typed observability model in one place."""

from __future__ import annotations

from pathlib import Path

from agentic_trading.observability.tree import load_tree


def alerts_in_rules(root: Path | None = None) -> list[str]:
    """Every alert name of the observability tree at ``root`` (default: the repository's observability/), sorted."""
    return sorted(load_tree(root).alert_names)
