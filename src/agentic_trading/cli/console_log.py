"""The CLI's log lines: short readable lines on stderr, warnings and above unless ``--debug``.

A program that never configures structlog gets its default: every level, debug included,
printed on **stdout**. ``atctl down`` and ``atctl chaos run`` thus printed ``[debug]
alerts_resolved_at_shutdown …`` (``alerts/shutdown.py``) into their own output, which broke a
``--format json`` report piped to ``jq``. The services log JSON lines to their log files
(``telemetry/logging.py``); the CLI is read by people, so a library's line is one plain line on
stderr, and stdout holds only the command's own output.

:func:`console_logging` configures this for one command and puts back the configuration it
found when the command ends: in-process tests (typer's ``CliRunner``) run many commands in one
process beside code whose tests capture or configure structlog themselves. Loggers are never
cached (``cache_logger_on_first_use=False``), so no module keeps this configuration afterwards.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import structlog


def configure_console_logging(debug: bool) -> None:
    """Library log lines to stderr as ``[level] event key=value``: all of them with ``debug``, else warnings and above."""
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.dev.ConsoleRenderer(
                colors=False, pad_event_to=0, pad_level=False, exception_formatter=structlog.dev.plain_traceback
            ),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG if debug else logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


@contextmanager
def console_logging(debug: bool) -> Iterator[None]:
    """:func:`configure_console_logging` while the block runs, then the configuration found before."""
    found = structlog.get_config()
    configure_console_logging(debug)
    try:
        yield
    finally:
        structlog.configure(**found)
