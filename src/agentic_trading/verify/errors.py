"""What stops ``atctl verify`` before (or instead of) reporting: each says what to do.

A failing *check* is not an error: it is a result. These are the cases where no
meaningful report can be made. They subclass :class:`AgenticTradingError`, so the CLI
prints one red line and exits with ``exit_code``.
"""

from __future__ import annotations

from agentic_trading.errors import AgenticTradingError, EndpointUnreachableError


class VerifyError(AgenticTradingError):
    """Base of the verify errors."""

    exit_code = 2


class StackUnreachableError(VerifyError, EndpointUnreachableError):
    """Prometheus does not answer: nothing can be checked."""

    service = "Prometheus"


class VerifyInputError(VerifyError):
    """A file or option verify reads is missing or malformed (catalog, dashboards, rules)."""


class PromQLError(Exception):
    """Prometheus answered a query with an error (bad syntax, unknown function, timeout)."""

    def __init__(self, query: str, error: str):
        self.query = query
        self.error = error
        super().__init__(f"{error} (query: {query})")


class HttpCheckError(Exception):
    """An HTTP endpoint a check needs did not answer as expected; the message names URL and status."""
