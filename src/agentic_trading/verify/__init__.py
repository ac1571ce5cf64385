"""``atctl verify``: every check of the testing strategy against one deployment.

One module per category: ``collection.py`` (targets, series, exposition format),
``accuracy.py`` (counters, histograms, ranges, a test webhook counted exactly),
``dashboards.py`` (lint, variables, every panel query, Grafana import), ``alerts.py``
(promtool, live expressions, runbooks, unit tests), ``health.py`` (the specification's
production health check). ``runner.py`` runs them; ``report.py`` and ``html.py`` render
the result. Pure analysis (PromQL, invariants, dashboard JSON) lives in its own modules.

From Python::

    from agentic_trading.verify import Endpoints, Sources, VerifyContext, run_checks

    with VerifyContext.open(Endpoints.from_settings(settings), Sources.defaults()) as ctx:
        report = run_checks(ctx, ["collection", "health"])
    assert report.ok, [r.message for r in report.failures()]
"""

from agentic_trading.verify.context import Endpoints, Sources, VerifyContext
from agentic_trading.verify.errors import StackUnreachableError, VerifyError, VerifyInputError
from agentic_trading.verify.model import CATEGORIES, Check, Outcome, Report, Result, Status
from agentic_trading.verify.runner import run_checks

__all__ = [
    "CATEGORIES",
    "Check",
    "Endpoints",
    "Outcome",
    "Report",
    "Result",
    "Sources",
    "StackUnreachableError",
    "Status",
    "VerifyContext",
    "VerifyError",
    "VerifyInputError",
    "run_checks",
]
