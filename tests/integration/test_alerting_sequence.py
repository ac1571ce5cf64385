"""A healthy stack's life pages nobody; an alert that ends is resolved at the receiver, even across a restart.

One stack of its own (it is stopped and started), with demo traffic:
start -> demo traffic -> planned restart -> down/up -> 20 s of load the pipeline keeps up with,
and through all of it the receiver must hold no critical notification and nothing but the
Watchdog and the alerts that describe saturation (latency, lag). The one fault the test
causes on purpose is the stale-alert sequence: invalid webhooks -> GatewayHighErrorRate ->
down -> up with no invalid webhook -> resolved at the receiver, and `atctl verify` passes on
its first run.

The rule is judged twice: right after each step (what has reached the receiver by then) and
at the end over the whole run, once Prometheus holds nothing pending and a Watchdog has
arrived since, so a step's late consequences (decisions degraded at the deadline for a few
seconds after a restart, a hold time running out) count too, and against the right step.

Cost: two to three minutes on a 2-core machine (two starts, two stops, 20 s of load).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from _support import eventually
from agentic_trading.alerts.sources import AlertClient, AlertSources
from agentic_trading.cli.main import app
from agentic_trading.settings import Settings
from agentic_trading.stack import Stack, select_programs
from agentic_trading.stack.ports import find_free_port_offset

pytestmark = pytest.mark.integration

# What a healthy stack may tell the receiver: its heartbeat, and the saturation a load test causes.
ALLOWED_WHEN_HEALTHY = {"Watchdog", "GatewayHighLatency", "NATSConsumerLag"}
# A load the pipeline keeps up with: open model, 50 signals/s to /webhook/test for 20 s. On a
# quiet machine of this kind the pipeline decides 200/s with p99 around 30 ms, but on one shared
# at load average 18-26 no clean rate above 50/s was found (docs/benchmarks.md), and at 100/s a
# starved machine once made over 1.44 % of decisions later than 2.5 s: SLOBurnRateFast then pages,
# truly, since users would get late decisions (docs/alerting.md, "Load tests"). 50/s keeps the
# test about a healthy stack under load, not about the machine's other work.
LOAD = ["load", "--rate", "50", "--duration", "20", "--quiet"]
runner = CliRunner()


@pytest.fixture
def demo_stack(tmp_path: Path) -> Iterator[Stack]:
    state_dir = tmp_path / "state"
    base = int(os.environ.get("AT_TEST_PORT_OFFSET", "20000"))
    programs = select_programs(None, demo=True)
    offset = find_free_port_offset(Settings(state_dir=state_dir), programs, candidates=range(base + 700, 23001, 100))
    assert offset is not None, "no free port offset for the sequence test's own stack"
    stack = Stack(Settings(state_dir=state_dir, port_offset=offset))
    try:
        yield stack
    finally:
        stack.down()


def _records(stack: Stack) -> list[dict]:
    path = stack.paths.state_dir / "receiver" / "notifications.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def _timeline(records: list[dict], start: float) -> str:
    """The receiver's records as lines of seconds since ``start``, status and alert: a failure's context."""
    return "\n".join(
        f"{r['received_at'] - start:7.1f} s {r['status']:8} {r['alertname']} {r['labels'].get('slo', '')}" for r in records
    )


def _atctl(stack: Stack, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--state-dir", str(stack.paths.state_dir)])
    return result.exit_code, result.stdout


@pytest.mark.timeout(360)  # two starts and stops of a whole stack, and 20 s of load
def test_a_healthy_life_pages_nobody_and_a_stale_alert_ends_at_the_receiver(demo_stack: Stack) -> None:
    started = time.time()
    try:
        _a_healthy_life(demo_stack)
    except AssertionError as failure:  # the receiver's whole story says which step paged what
        raise AssertionError(f"{failure}\nthe receiver's records:\n{_timeline(_records(demo_stack), started)}") from failure


def _a_healthy_life(demo_stack: Stack) -> None:
    stack, settings = demo_stack, demo_stack.settings
    http = httpx.Client(timeout=5)

    def notifications(**filters: object) -> list[dict]:
        return http.get(settings.url("receiver") + "/notifications", params=filters).json()["notifications"]

    def fired(records: list[dict]) -> set[str]:
        return {r["alertname"] for r in records if r["status"] == "firing"}

    def healthy(records: list[dict], step: str, also: frozenset[str] = frozenset()) -> None:
        critical = sorted({r["alertname"] for r in records if r["labels"].get("severity") == "critical"})
        assert not critical, f"{step}: paged {critical}"
        unexpected = sorted(fired(records) - ALLOWED_WHEN_HEALTHY - also)
        assert not unexpected, f"{step}: notified {unexpected}"

    def heard_after(delay_s: float, what: str) -> None:
        """Wait for a Watchdog sent ``delay_s`` from now: what fired before it was notified before it."""
        moment = time.time() + delay_s
        eventually(lambda: notifications(alertname="Watchdog", since=moment), timeout_s=delay_s + 20, interval_s=0.5, what=what)

    # --- start, demo traffic, a planned restart: nothing but the Watchdog ----------------
    stack.up(demo=True, timeout=90)
    eventually(lambda: notifications(alertname="Watchdog", status="firing"), timeout_s=30, interval_s=0.5, what="the Watchdog")
    stack.restart("agent-sentiment")
    # Signals missed by the restarting agent are decided at the 2 s deadline; scraped and
    # evaluated a second or two later: 5 s lets them reach the receiver.
    heard_after(5, "a Watchdog 5 s after the restart")
    healthy(_records(stack), "start, demo traffic, `atctl restart agent-sentiment`")

    # --- the stale-alert sequence: invalid webhooks, down, up with none ---------------------
    flood_at = time.time()
    for _ in range(100):  # the specification's test_high_error_rate
        http.post(settings.url("gateway") + "/webhook/tradingview", json={"invalid": "data"})
    eventually(
        lambda: notifications(alertname="GatewayHighErrorRate", status="firing", since=flood_at),
        timeout_s=30,
        interval_s=0.5,
        what="GatewayHighErrorRate at the receiver after 100 invalid webhooks",
    )
    stack.down()
    last = [r for r in _records(stack) if r["alertname"] == "GatewayHighErrorRate"][-1]
    assert last["status"] == "resolved" and last["annotations"].get("resolved_by") == "atctl down", last
    up_at = time.time()
    stack.up(demo=True, timeout=90)

    # The 20 s windows may still hold the errors sent before the restart for a few seconds
    # (the alert may fire once more, and ends); then nothing but the Watchdog, and
    # `atctl verify` passes on its first run.
    def settled() -> bool:
        code, output = _atctl(stack, "alerts", "--format", "json")
        firing = {a["alertname"] for a in json.loads(output)["firing"] if a["state"] != "pending"}
        latest = [r for r in _records(stack) if r["alertname"] == "GatewayHighErrorRate"][-1]
        print(f"{time.time() - up_at:5.1f} s after up: firing {sorted(firing)}, error-rate alert {latest['status']}")
        return firing <= {"Watchdog"} and latest["status"] == "resolved"

    eventually(settled, timeout_s=60, interval_s=1, what="nothing but the Watchdog firing, the error-rate alert resolved")
    flood_ended = time.time()
    code, output = _atctl(stack, "verify", "--category", "alerts")
    assert code == 0, f"atctl verify --category alerts failed on its first run:\n{output}"
    after_up = [r for r in _records(stack) if r["received_at"] >= up_at]
    healthy(after_up, "`atctl down`, `atctl up`", also=frozenset({"GatewayHighErrorRate"}))

    # --- 20 s of load the pipeline keeps up with -----------------------------------------------
    load_started = time.time()
    code, output = _atctl(stack, *LOAD)
    assert code == 0, output
    # Nothing pending any more (every hold has run out or ended), then a Watchdog: whatever
    # the run caused has reached the receiver.
    with AlertClient(AlertSources.of(settings)) as alerts:
        eventually(
            lambda: not [a for a in alerts.prometheus_alerts() if a["state"] == "pending"],
            timeout_s=60,
            interval_s=1,
            what="no alert pending after the load",
        )
    heard_after(0, "a Watchdog once nothing is pending")
    healthy([r for r in _records(stack) if r["received_at"] >= load_started], "20 s of load at 50 signals/s")

    # --- the whole run, late consequences included -------------------------------------------
    records = _records(stack)
    healthy(records, "the whole run", also=frozenset({"GatewayHighErrorRate"}))
    error_rate = [r["received_at"] for r in records if r["alertname"] == "GatewayHighErrorRate" and r["status"] == "firing"]
    assert all(flood_at <= t <= flood_ended for t in error_rate), "GatewayHighErrorRate fired outside the invalid-webhook step"
    http.close()
