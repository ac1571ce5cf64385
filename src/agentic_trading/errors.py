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


class EndpointUnreachableError(AgenticTradingError):
    """A service of the stack does not answer at ``url``; ``service`` names it in the message.

    Each area subclasses it (verify's Prometheus, load's gateway, the bus's NATS) so that
    every such message reads alike (:func:`not_answering`) and names the first thing to look at.
    """

    exit_code = 2
    service = "endpoint"

    def __init__(self, url: str, detail: str = ""):
        self.url = url
        super().__init__(not_answering(self.service, url, detail))


def not_answering(service: str, url: str, detail: str = "") -> str:
    """The one message for a service that does not answer: which, where, why, and what to check first."""
    why = f" ({detail})" if detail else ""
    return f"{service} at {url} is not answering{why}: is the stack up? (atctl status)"
