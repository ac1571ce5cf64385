"""Plain-text layout that fits a width without splitting a token: pure, so it is unit-tested.

Rich tables fold a cell that does not fit mid-word (``agent_type=correlati`` / ``on``) and
truncate no-wrap columns with an ellipsis; a URL cut in two is worse than a longer line.
These functions wrap only at spaces, put a cell that does not fit on its own indented
line, and produce the same lines for a terminal and a pipe (a pipe gets no colours).
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Sequence

DEFAULT_WIDTH = 80
INDENT = "    "


def terminal_width(fallback: int = DEFAULT_WIDTH) -> int:
    """``COLUMNS`` if set, else the terminal's width, else 80 (a pipe)."""
    return shutil.get_terminal_size((fallback, 24)).columns


def wrap_words(text: str, width: int, indent: str = "") -> list[str]:
    """``text`` in lines of at most ``width`` characters, broken only at spaces.

    A single word longer than the width stays whole on its own line (never cut).
    """
    if not text:
        return [indent.rstrip()] if indent else [""]
    return textwrap.wrap(
        text,
        width=max(width, len(indent) + 1),
        initial_indent=indent,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [indent]


def aligned_lines(headers: Sequence[str], rows: Sequence[Sequence[str]], width: int = DEFAULT_WIDTH) -> list[str]:
    """Columns padded to their widest cell, the last column in the space left.

    A row's last cell that does not fit there goes on the following lines, indented,
    wrapped at spaces (a short one such as ``ok`` stays on its row).
    """
    fixed = len(headers) - 1
    widths = [max(len(headers[i]), *(len(row[i]) for row in rows)) if rows else len(headers[i]) for i in range(fixed)]
    prefix_width = sum(widths) + fixed  # one space after each fixed column
    room = width - prefix_width

    def prefix(cells: Sequence[str]) -> str:
        return " ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=False)) + " "

    lines = [(prefix(headers[:fixed]) + headers[-1]).rstrip() if room >= len(headers[-1]) else prefix(headers[:fixed]).rstrip()]
    for row in rows:
        last = row[-1]
        if len(last) <= room:
            lines.append((prefix(row[:fixed]) + last).rstrip())
            continue
        lines.append(prefix(row[:fixed]).rstrip())
        lines += wrap_words(last, width, INDENT)
    return lines


def record_lines(head: str, details: str, width: int = DEFAULT_WIDTH) -> list[str]:
    """A head line (wrapped if needed) and its details indented below, for one event."""
    return wrap_words(head, width) + (wrap_words(details, width, INDENT) if details else [])
