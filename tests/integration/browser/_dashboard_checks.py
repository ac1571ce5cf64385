"""What a dashboard page showed in one variable state, judged: data, declared-empty, or a problem.

Every problem names the dashboard, the panel and the variable state, so a failure reads
``agents-001 / "Vetoes (5m)" / agent_type=momentum: no data, and …``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agentic_trading.dashboards.browser import DashboardView
from agentic_trading.observability.dashboard_states import describe_state, may_be_empty, panels_of

# Rate windows are 1m and 5m and the test stack is minutes old: a short range shows the curves.
# No auto-refresh: a page is judged once, after its first complete load.
TEST_RANGE = {"from": "now-5m", "to": "now", "refresh": ""}


def problems_in(
    document: Mapping[str, Any],
    view: DashboardView,
    state: Mapping[str, Sequence[str]],
    options: Mapping[str, Sequence[str]],
) -> list[str]:
    uid = str(document["uid"])
    where = describe_state(state)
    shown = {panel.title: panel for panel in view.panels}
    problems = []
    for panel in panels_of(document):
        title = str(panel.get("title") or "")
        prefix = f"{uid} / {title!r} / {where}"
        seen = shown.get(title)
        allowed = may_be_empty(panel, state, options)
        if seen is None:
            problems.append(f"{prefix}: the panel is not on the page")
        elif seen.state == "error":
            problems.append(f"{prefix}: the panel shows an error: {seen.error}")
        elif seen.state == "empty" and not allowed:
            problems.append(f"{prefix}: no data, and the panel does not declare mayBeEmpty for this state")
        elif seen.state in ("empty", "empty-allowed") and (seen.state == "empty-allowed") != allowed:
            problems.append(f"{prefix}: the page ({seen.state}) and states.may_be_empty ({allowed}) disagree")
        elif seen.state not in ("data", "empty", "empty-allowed"):
            problems.append(f"{prefix}: the panel never finished (state {seen.state!r})")
    problems.extend(f"{uid} / {where}: console error: {message}" for message in view.console_errors)
    return problems
