"""The names of the pipeline's Redis keys: one place for every reader and writer.

The orchestrator writes the workflow keys (:mod:`agentic_trading.orchestrator.workflow` says what
each holds and for how long); the gateway reads a signal's workflow and decision to answer a
retry, and ``atctl trace`` and ``atctl summary`` read them too. Keeping the names here, below
every service, lets each read them without importing another service's module.
The agents' histories and seen markers are described in :mod:`agentic_trading.agents.state`.
Every key starts with ``at:`` (the services' Redis ACL users are limited to ``at:*``).
"""

from __future__ import annotations

DEADLINES_KEY = "at:wf:deadlines"
OUTBOX_KEY = "at:decisions:outbox"
POSITIONS_KEY = "at:positions"


def workflow_key(signal_id: str) -> str:
    return f"at:wf:{signal_id}"


def decision_key(signal_id: str) -> str:
    return f"at:decision:{signal_id}"


def correlation_key(correlation_id: str) -> str:
    return f"at:correlation:{correlation_id}"


def prices_key(instrument: str) -> str:
    """The momentum agent's price history of ``instrument``."""
    return f"at:prices:{instrument}"


def sentiment_key(instrument: str) -> str:
    """The sentiment agent's action history of ``instrument``."""
    return f"at:sentiment:{instrument}"


def corr_prices_key(instrument: str) -> str:
    """The correlation agent's price history of ``instrument``."""
    return f"at:corr:prices:{instrument}"


def seen_key(agent_type: str, signal_id: str) -> str:
    """The marker that ``agent_type`` has recorded ``signal_id``'s effect."""
    return f"at:agent:{agent_type}:seen:{signal_id}"
