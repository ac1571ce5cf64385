"""One real stack for the whole integration session, on its own ports and state directory.

The stack takes the default ports when they are all free (so the specification's scripts run
unchanged against it, as in CI) and otherwise the first free port offset, so it never touches a
user's own stack. ``AT_TEST_PORT_OFFSET`` forces an offset.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import httpx
import pytest
from _live import LiveStack

from _support import eventually
from agentic_trading.settings import Settings
from agentic_trading.stack import Stack, select_programs
from agentic_trading.stack.ports import find_free_port_offset

STACK_START_TIMEOUT_S = 60.0
# Programs Prometheus does not scrape themselves (exporters speak for NATS and Redis; the
# dashboards viewer has no metrics).
_NOT_SCRAPED = ("nats", "redis", "dashboards")


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    state_dir = tmp_path_factory.mktemp("stack") / "state"
    base = Settings(state_dir=state_dir)
    programs = select_programs(None, demo=False)
    requested = os.environ.get("AT_TEST_PORT_OFFSET")
    if requested is not None:
        offset = int(requested)
    else:
        offset = find_free_port_offset(base, programs, candidates=[0, *range(10000, 23001, 1000)])
    assert offset is not None, "no free port offset for the test stack"
    # The dashboards ask for a password (user admin), as the specification's visual test expects.
    stack = Stack(Settings(state_dir=state_dir, port_offset=offset, dashboards_password="admin"))
    started = time.monotonic()
    stack.up(timeout=STACK_START_TIMEOUT_S)
    with httpx.Client(timeout=5.0) as client:
        live = LiveStack(stack=stack, settings=stack.settings, http=client)
        try:
            # Counters that move before Prometheus's first scrape of a target are invisible to
            # rate(): tests start once every target has been scraped twice.
            eventually(
                lambda: (
                    (live.query_value("min(count_over_time(up[1m]))") or 0) >= 2
                    and len(live.query("up")) >= len(stack.programs()) - len(_NOT_SCRAPED)
                ),
                timeout_s=30,
                interval_s=0.2,
                what="two scrapes of every target",
            )
            print(f"\ntest stack up in {time.monotonic() - started:.1f} s at port offset {offset}, state {state_dir}")
            yield live
        finally:
            stack.down(purge=False)


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
