"""The one error of the observability model: a file of ``observability/`` cannot be read as meant.

Every message names the file and line and says what to do, e.g.
``observability/prometheus/alerts/gateway.yml:12: `for` is "1 minute", not a Prometheus
duration: write 30s, 5m or 1h30m``. ``exit_code`` 2: nothing could be checked.
"""

from __future__ import annotations

from agentic_trading.errors import AgenticTradingError


class ObservabilityError(AgenticTradingError):
    """A file of the observability tree is missing or malformed; the message says where and the fix."""

    exit_code = 2
