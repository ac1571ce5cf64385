"""Run the checks of the chosen categories against one deployment and collect a :class:`Report`.

Every check runs even when others fail; an exception inside a check becomes a failed
result that says what went wrong (never a crash of the whole run). Only an unreachable
Prometheus stops the run, with :class:`StackUnreachableError`, before any check.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Sequence
from typing import Protocol

import httpx

from agentic_trading.observability import ObservabilityError
from agentic_trading.verify import accuracy, alerts, collection, dashboards, health, security
from agentic_trading.verify.context import VerifyContext
from agentic_trading.verify.errors import HttpCheckError, PromQLError, VerifyInputError
from agentic_trading.verify.grafana import GrafanaError
from agentic_trading.verify.model import CATEGORIES, Check, Outcome, Report, Result
from agentic_trading.verify.prometheus import describe_transport
from agentic_trading.verify.promtool import PromtoolMissingError

PLANNERS: dict[str, Callable[[VerifyContext], list[Check]]] = {
    "collection": collection.plan,
    "accuracy": accuracy.plan,
    "dashboards": dashboards.plan,
    "alerts": alerts.plan,
    "health": health.plan,
    "security": security.plan,
}
assert tuple(PLANNERS) == CATEGORIES

# Errors a check may meet that say enough by themselves.
_KNOWN_ERRORS = (PromtoolMissingError, VerifyInputError, ObservabilityError, GrafanaError, HttpCheckError)


class ProgressListener(Protocol):
    def category_started(self, category: str, total: int) -> None: ...

    def check_finished(self, result: Result) -> None: ...


def run_checks(
    ctx: VerifyContext,
    categories: Sequence[str] = CATEGORIES,
    listener: ProgressListener | None = None,
) -> Report:
    unknown = [c for c in categories if c not in PLANNERS]
    if unknown:
        raise VerifyInputError(f"unknown categories {', '.join(unknown)}; choose from {', '.join(CATEGORIES)}")
    check_inputs(ctx, categories)
    ctx.prometheus.check_reachable()
    report = Report(endpoints=ctx.endpoints.as_dict())
    started = time.perf_counter()
    for category in [c for c in CATEGORIES if c in categories]:
        checks = plan_category(ctx, category)
        if listener is not None:
            listener.category_started(category, len(checks))
        for check in checks:
            result = run_check(check)
            report.results.append(result)
            if listener is not None:
                listener.check_finished(result)
    report.duration_s = time.perf_counter() - started
    return report


def check_inputs(ctx: VerifyContext, categories: Sequence[str]) -> None:
    """Read the files the chosen categories need; a missing or broken one stops the run (exit 2).

    Every category but health and security compares the deployment with the
    observability tree: it is read (and refused with file:line when broken) before any check.
    """
    if set(categories) & {"collection", "accuracy", "dashboards", "alerts"}:
        ctx.tree  # noqa: B018 - loads and validates the whole tree once


def plan_category(ctx: VerifyContext, category: str) -> list[Check]:
    """The category's checks; when planning itself fails, one failed check that says why."""
    try:
        return PLANNERS[category](ctx)
    except Exception as exc:  # noqa: BLE001 - reported as a failed check, with the error
        outcome = outcome_of_error(exc)
        return [Check(category, "plan", f"the {category} checks could be listed", lambda: outcome)]


def run_check(check: Check) -> Result:
    started = time.perf_counter()
    try:
        outcome = check.run()
    except Exception as exc:  # noqa: BLE001 - a crashing check is a failed check, not a crashed run
        outcome = outcome_of_error(exc)
    return Result.of(check, outcome, time.perf_counter() - started)


def outcome_of_error(exc: Exception) -> Outcome:
    """A failed outcome that says what the exception means for the check."""
    if isinstance(exc, PromQLError):
        return Outcome.failed(f"Prometheus refused the query: {exc.error}", exc.query)
    if isinstance(exc, httpx.HTTPStatusError):
        return Outcome.failed(f"{exc.request.url} answered HTTP {exc.response.status_code}")
    if isinstance(exc, httpx.HTTPError):
        where = f" from {exc.request.url}" if _has_request(exc) else ""
        return Outcome.failed(f"no answer{where}: {describe_transport(exc)}")
    if isinstance(exc, _KNOWN_ERRORS):
        return Outcome.failed(str(exc))
    lines = traceback.format_exception(exc)
    return Outcome.failed(f"the check crashed: {type(exc).__name__}: {exc}", details=[line.rstrip() for line in lines[-6:]])


def _has_request(exc: httpx.HTTPError) -> bool:
    try:
        exc.request  # noqa: B018 - raises RuntimeError when the error carries no request
    except RuntimeError:
        return False
    return True
