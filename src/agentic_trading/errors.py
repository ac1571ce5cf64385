"""The one root of every error this project raises on purpose, and the exit code it maps to.

Each area (the stack, verify, load, the observability model, chaos) has its own small
hierarchy under :class:`AgenticTradingError`, so callers catch one class and the CLI turns
any of them into one red line and ``exit_code`` (a traceback only with ``--debug``).
A message names the thing that is wrong and what to do about it, e.g.
``Prometheus at 127.0.0.1:9090 is not answering: is the stack up? (atctl status)``.
"""

from __future__ import annotations


class AgenticTradingError(Exception):
    """Base of every known failure; ``exit_code`` is what the CLI exits with.

    Exit codes across ``atctl``: 1 a check or operation failed, 2 nothing could be
    checked or done (no stack, unreachable endpoint, bad input).
    """

    exit_code = 1
