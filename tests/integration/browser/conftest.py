"""Headless Chromium on the test stack's dashboards, with traffic behind every panel.

Under tests/integration so the session's one stack (``live``) serves these tests too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import redis
from _live import LiveStack

from _support import eventually
from agentic_trading.dashboards.browser import Viewer, chromium
from agentic_trading.load.payloads import SignalFactory
from agentic_trading.load.traffic import TrafficGenerator
from agentic_trading.redis_keys import POSITIONS_KEY

# An instrument no other test trades; with its paper position at the limit, a buy is vetoed.
VETO_INSTRUMENT = "XAGUSD"

# Queries whose data the panels need, each waited for after the traffic.
_READY_QUERIES = (
    "sum(rate(gateway_webhooks_total{status='200'}[1m])) > 0",
    "gateway:webhooks:error_ratio_rate5m",
    "sum by (reason) (rate(gateway_validation_errors_total[1m]))",
    "sum(increase(agent_vetoes_total[5m])) > 0",
    "gateway:processing_duration_seconds:quantile_rate5m",
    "orchestrator:workflow_duration_seconds:quantile_rate5m",
    "sum by (agent_type) (rate(agent_messages_processed_total[1m])) > 0",
)


def _send_traffic(live: LiveStack) -> None:
    # Valid signals only: the validation-error panels show their (pre-initialised) zeros, and no
    # alert fires, so the tests after these find a healthy stack.
    generator = TrafficGenerator(live.url("gateway"), seed=16)
    report = asyncio.run(generator.errors(count=40, error_rate=0.0, interval_s=0.01))
    assert report.accepted == 40, report.as_dict()
    factory = SignalFactory(seed=16, instruments={VETO_INSTRUMENT: 24.0})
    # The orchestrator's ledger says the position is at the limit (as after five executed buys).
    client = redis.Redis.from_url(live.redis_admin_url)
    client.hset(POSITIONS_KEY, VETO_INSTRUMENT, live.settings.max_position_units)
    client.close()
    for _ in range(2):
        assert live.post_signal(factory.signal(action="buy")).status_code == 200
    duplicate = factory.signal(action="hold")
    assert live.post_signal(duplicate).status_code == 200
    assert live.post_signal(duplicate).json()["duplicate"] is True


@pytest.fixture(scope="session")
def dashboard_traffic(live: LiveStack) -> None:
    """Valid, vetoed and duplicate signals, then every rate window has seen them."""
    _send_traffic(live)
    for query in _READY_QUERIES:
        eventually(lambda q=query: live.query(q), timeout_s=30, interval_s=0.25, what=f"data for {query}")


@pytest.fixture(scope="session")
def viewer(live: LiveStack, dashboard_traffic: None) -> Iterator[Viewer]:
    """One headless Chromium for every browser test, logged in as admin."""
    with chromium() as driver:
        session = Viewer(driver, live.url("dashboards"))
        session.log_in("admin", "admin")
        yield session
