"""One real stack for the whole integration session, on its own ports and state directory.

The stack takes the default ports when they are all free (so the specification's scripts run
unchanged against it, as in CI) and otherwise the first free port offset, so it never touches a
user's own stack. ``AT_TEST_PORT_OFFSET`` forces an offset.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from _live import LiveStack, free_test_offset, running_live_stack


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    state_dir = tmp_path_factory.mktemp("stack") / "state"
    requested = os.environ.get("AT_TEST_PORT_OFFSET")
    if requested is not None:
        offset = int(requested)
    else:
        offset = free_test_offset(state_dir, [0, *range(10000, 23001, 1000)])
    with running_live_stack(state_dir, offset) as live:
        yield live


@pytest.fixture(scope="session")
def fault_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    """A second stack, shared by the two files that inject faults and time alerts against it
    (test_alert_faults.py, then test_chaos_experiments.py, both marked ``leaves_alerts`` so they
    run last and one after the other): their steady state is "nothing but the Watchdog active",
    which the session stack no longer has after faults that leave canary and SLO windows burning.
    One start instead of one per file saves about a minute of the suite."""
    state_dir = tmp_path_factory.mktemp("faults") / "state"
    forced = os.environ.get("AT_TEST_PORT_OFFSET")
    candidates = [o for o in range(10000, 23001, 1000) if forced is None or o != int(forced)]
    with running_live_stack(state_dir, free_test_offset(state_dir, candidates)) as stack:
        yield stack


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The suite's per-test timeout (pyproject.toml) counts only the test body for tests on the live stack.

    The session stack's start-up (``stack.up`` within 60 s, two scrapes within 30 s) is paid by
    whichever test uses it first, and its ``stack.down`` by the last: those steps carry their own
    deadlines, and a test body still fails after the suite's default.
    """
    for item in items:
        if "live" in getattr(item, "fixturenames", ()) and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(float(item.config.getini("timeout")), func_only=True))
    # Faults that leave the shared stack's SLO and canary windows burning for minutes go
    # last, so the tests that expect a quiet stack ("only the Watchdog fires") run first.
    items.sort(key=lambda item: item.get_closest_marker("leaves_alerts") is not None)
