"""Help text that reads at any width: prose paragraphs reflowed, example blocks kept.

Typer keeps the single line breaks of a docstring's later paragraphs, and Rich then wraps
each of those source lines again at the terminal's width: at 80 columns a docstring wrapped
at 88-100 came out as a long line, an orphan word, a long line ("times the" / "alert to
Prometheus ..."). :func:`reflow` joins the lines of each prose paragraph so that Rich wraps
the paragraph once; a paragraph with an indented line (an ``Examples:`` block, a command
line), a list item or Click's ``\\b`` marker keeps its lines as written.
:func:`reflow_app` applies it to every command and group of a Typer app, once, at import.
"""

from __future__ import annotations

import inspect
import re

import typer
from typer.main import solve_typer_info_help

# A line that must stay a line of its own: indented (examples, commands) or a list item.
_KEEP_LINE = re.compile(r"^(\s|[-*•] |\d+[.)] )")


def reflow(text: str) -> str:
    """``text`` with each prose paragraph on one line; blocks, lists and anything after ``\\f`` untouched."""
    body, mark, tail = inspect.cleandoc(text).partition("\f")
    paragraphs = body.split("\n\n")
    return "\n\n".join(_reflow_paragraph(p) for p in paragraphs) + mark + tail


def _reflow_paragraph(paragraph: str) -> str:
    lines = paragraph.split("\n")
    if len(lines) == 1 or paragraph.startswith("\b") or any(_KEEP_LINE.match(line) for line in lines):
        return paragraph
    return " ".join(line.strip() for line in lines)


def reflow_app(app: typer.Typer) -> None:
    """Reflow the help of every command and group of ``app``, its sub-apps included."""
    if isinstance(app.info.help, str):
        app.info.help = reflow(app.info.help)
    for command in app.registered_commands:
        text = command.help if isinstance(command.help, str) else inspect.getdoc(command.callback)
        if text:
            command.help = reflow(text)
    for group in app.registered_groups:
        text = solve_typer_info_help(group)  # Typer's own choice among add_typer, callback and docstrings
        if text:
            group.help = reflow(text)
        if group.typer_instance is not None:
            reflow_app(group.typer_instance)
