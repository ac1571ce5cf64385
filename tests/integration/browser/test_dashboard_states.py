"""Every dashboard in headless Chromium, in every variable state: data or a declared empty panel.

The page resolves each variable against the test stack's Prometheus; every combination of
the values it offers (each value, each subset of a multi-value variable, and "All") is
opened, and every panel must show data, or declare in the dashboard JSON itself that it may
be empty in that state (``mayBeEmpty``, observability/README.md). No panel may show an
error, and the browser console must stay free of errors.
"""

from __future__ import annotations

import time

import pytest
from _dashboard_checks import TEST_RANGE, problems_in

from agentic_trading.dashboards.browser import Viewer
from agentic_trading.dashboards.library import default_dashboards_dir, read_dashboards
from agentic_trading.observability.dashboard_states import describe_state, variable_states

pytestmark = pytest.mark.integration

DASHBOARDS = read_dashboards(default_dashboards_dir())


@pytest.mark.parametrize("uid", list(DASHBOARDS))
def test_every_panel_shows_data_in_every_variable_state(viewer: Viewer, uid: str) -> None:
    document = DASHBOARDS[uid].document
    started = time.monotonic()
    default = viewer.open(uid, **TEST_RANGE)
    problems = problems_in(document, default, default.variables, default.options)
    states = variable_states(document, default.options)
    for state in states:
        if not state:
            continue  # a dashboard without variables has only its default state
        assert all(state[name] for name in state), f"{uid}: a variable offers no values: {default.options}"
        view = viewer.open(uid, state, **TEST_RANGE)
        assert view.variables == state, f"{uid}: asked for {describe_state(state)}, the page shows {view.variables}"
        problems.extend(problems_in(document, view, state, default.options))
    assert not problems, "\n".join(problems)
    print(f"\n{uid}: {len(states)} variable states, {len(default.panels)} panels each, {time.monotonic() - started:.1f} s")
