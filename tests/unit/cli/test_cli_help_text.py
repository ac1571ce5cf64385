"""Help text at 80 columns: prose paragraphs wrap once, example blocks keep their lines."""

from __future__ import annotations

import pytest
from test_cli_main import _every_command  # every command and sub-command, as test_cli_main checks their help
from typer.testing import CliRunner

from agentic_trading.cli.help_text import reflow
from agentic_trading.cli.main import app

runner = CliRunner()


def test_prose_is_joined_and_blocks_lists_and_the_tail_after_formfeed_are_kept() -> None:
    text = """Run experiments.

    Each one checks the steady state, times the
    alert and repairs.

    Examples:
      atctl chaos run gateway-down
      atctl chaos run --all

    - a list item
    - another

    \fInternal notes
    stay as written."""
    assert reflow(text) == (
        "Run experiments.\n\n"
        "Each one checks the steady state, times the alert and repairs.\n\n"
        "Examples:\n  atctl chaos run gateway-down\n  atctl chaos run --all\n\n"
        "- a list item\n- another\n\n"
        "\fInternal notes\nstay as written."
    )


def _description_paragraphs(output: str) -> list[list[str]]:
    """The prose paragraphs above the first panel, each as its lines (usage line and blocks left out)."""
    lines = output.split("╭", 1)[0].splitlines()
    paragraphs: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            paragraphs[-1].append(line.rstrip())
        elif paragraphs[-1]:
            paragraphs.append([])
    return [p for p in paragraphs if p and not p[0].lstrip().startswith("Usage:") and not any(x.startswith("   ") for x in p)]


@pytest.mark.parametrize("command", _every_command())
def test_every_prose_line_but_a_paragraphs_last_fills_the_width(command: str) -> None:
    # Before: a docstring line was wrapped again by Rich, leaving "the" alone on a line.
    result = runner.invoke(app, [*command.split(), "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    for paragraph in _description_paragraphs(result.output):
        for line in paragraph[:-1]:
            assert len(line) >= 60, f"atctl {command} --help wraps early:\n" + "\n".join(paragraph)
