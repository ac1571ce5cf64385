"""docs/chaos.md stays true to chaos/: every experiment and every alert is in its table."""

from __future__ import annotations

from pathlib import Path

from agentic_trading.chaos.experiment import discover

DOC = (Path(__file__).parents[3] / "docs" / "chaos.md").read_text()


def test_every_experiment_and_its_alert_is_in_the_docs_table():
    rows = [line for line in DOC.splitlines() if line.startswith("| `")]
    for experiment in discover():
        assert any(f"`{experiment.name}`" in row and experiment.alert in row for row in rows), experiment.name
