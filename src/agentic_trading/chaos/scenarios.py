"""The specification's incident scenarios, with assertions instead of sleeps.

* ``signal-flow``: one signal with a correlation id moves the three pipeline counters
  (gateway 200s, each agent's processed messages, the orchestrator's workflows) by exactly
  one and appears in the logs of the gateway, every agent and the orchestrator;
* ``high-load``: 1,000 webhooks from 50 concurrent workers all get 200, are all decided
  exactly once, and every program is healthy afterwards;
* ``partial-failure``: with the momentum agent stopped the other agents keep processing,
  workflows complete degraded naming it, and they are complete again once it is back.

Each check is recorded (what, whether it held, what was seen); a scenario fails when one
does not hold. Counters are read straight from each service's ``/metrics`` (no scrape delay).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from agentic_trading.chaos._loop import BackgroundLoop
from agentic_trading.chaos.errors import UnknownExperimentError
from agentic_trading.chaos.observe import poll_until
from agentic_trading.chaos.signals import SignalFlow
from agentic_trading.settings import AGENT_TYPES
from agentic_trading.stack import Stack
from agentic_trading.stack.trace import wait_for_trace
from agentic_trading.web_access import web_client_options

STILL_FOR_S = 1.0  # counters unchanged this long: nothing else is in flight

SPEC_SIGNAL = {
    "timestamp": "2024-01-15T10:30:00Z",
    "instrument": "EURUSD",
    "action": "buy",
    "confidence": 0.85,
    "price": 1.0850,
    "stop_loss": 1.0800,
    "take_profit": 1.0950,
}
# The specification's load test posts this minimal payload 1,000 times.
SPEC_LOAD_PAYLOAD = {"instrument": "EURUSD", "action": "buy"}
PIPELINE_SERVICES = ("gateway", *(f"agent-{a}" for a in AGENT_TYPES), "orchestrator")
SETTLE_S = 60.0


@dataclass
class Check:
    what: str
    ok: bool
    seen: str


@dataclass
class ScenarioResult:
    name: str
    checks: list[Check] = field(default_factory=list)
    duration_s: float = 0.0

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def check(self, what: str, ok: bool, seen: Any) -> bool:
        self.checks.append(Check(what, bool(ok), str(seen)))
        return bool(ok)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": "passed" if self.passed else "failed",
            "duration_s": round(self.duration_s, 1),
            "checks": [{"what": c.what, "ok": c.ok, "seen": c.seen} for c in self.checks],
        }


COUNTERS = {
    "gateway": ("gateway_webhooks_total", {"status": "200"}),
    **{f"agent-{a}": ("agent_messages_processed_total", {}) for a in AGENT_TYPES},
    "orchestrator": ("orchestrator_workflows_total", {}),
}


def pipeline_counters(stack: Stack, http: httpx.Client, names: tuple[str, ...] = PIPELINE_SERVICES) -> dict[str, float]:
    """gateway 200s, each agent's processed messages and the orchestrator's workflows, from /metrics."""
    return {name: _sample_sum(http, stack.settings.url(name), COUNTERS[name][0], **COUNTERS[name][1]) for name in names}


def _sample_sum(http: httpx.Client, base_url: str, name: str, **labels: str) -> float:
    text = http.get(base_url + "/metrics").text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


def signal_flow(stack: Stack, result: ScenarioResult, http: httpx.Client, flow: SignalFlow) -> None:
    """One signal moves every pipeline counter by exactly one: so nothing else may move them meanwhile.

    The canary sends a test signal every 2 s through the same counters; it is paused (SIGSTOP)
    for the scenario, and the counters must stand still before the signal is sent (its last
    signals finished), else "exactly one" would depend on the scenario being faster than 2 s.
    """
    paused = "canary" in {s.name for s in stack.status() if s.state == "RUNNING"}
    if paused:
        stack.pause("canary")
    try:
        _one_signal_moves_each_counter_once(stack, result, http, flow)
    finally:
        if paused:
            stack.resume("canary")


def _counters_still(stack: Stack, http: httpx.Client) -> dict[str, float] | None:
    first = pipeline_counters(stack, http)
    time.sleep(STILL_FOR_S)
    return first if pipeline_counters(stack, http) == first else None


def _one_signal_moves_each_counter_once(stack: Stack, result: ScenarioResult, http: httpx.Client, flow: SignalFlow) -> None:
    correlation_id = f"scenario_{uuid.uuid4().hex[:12]}"
    before = poll_until(lambda: _counters_still(stack, http), 15.0)
    if before is None:
        result.check("no other traffic moves the pipeline counters", False, "still moving after 15 s")
        return
    payload = {**SPEC_SIGNAL, "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z")}
    answer = flow.send_one(payload, {"X-Correlation-ID": correlation_id})
    if not result.check("the gateway answers 200", answer.status == 200, answer.status):
        return
    trace = wait_for_trace(stack.settings.log_dir, correlation_id, timeout=15.0, interval=0.1)
    result.check("a decision is logged for the correlation id", trace.decision is not None, [e.event for e in trace.events][-3:])
    missing = sorted(set(PIPELINE_SERVICES) - set(trace.services))
    result.check(
        "the correlation id is in the logs of the gateway, every agent and the orchestrator", not missing, missing or "all"
    )
    moved = poll_until(lambda: _moved_by_one(stack, http, before), 10.0)
    after = pipeline_counters(stack, http)
    deltas = {k: after[k] - before[k] for k in after}
    result.check(
        "every pipeline counter moved by exactly one", moved is not None and all(d == 1 for d in deltas.values()), deltas
    )


def _moved_by_one(stack: Stack, http: httpx.Client, before: dict[str, float]) -> bool:
    now = pipeline_counters(stack, http)
    return all(now[k] - before[k] >= 1 for k in now)


def high_load(stack: Stack, result: ScenarioResult, http: httpx.Client, flow: SignalFlow) -> None:
    count, workers = 1000, 50
    accepted = flow.burst(count, workers, payload=SPEC_LOAD_PAYLOAD)
    statuses: dict[str, int] = {}
    for answer in flow.answers:
        statuses[str(answer.status)] = statuses.get(str(answer.status), 0) + 1
    result.check(f"all {count} webhooks from {workers} workers answered 200", accepted == count, statuses)
    settlement = flow.settle(SETTLE_S)
    result.check("every accepted signal decided", not settlement.lost, f"{len(settlement.lost)} undecided")
    result.check("no signal decided twice", not settlement.twice, f"{len(settlement.twice)} twice")
    unhealthy = [s.name for s in stack.status() if not s.healthy]
    result.check("every program healthy after the load", not unhealthy, unhealthy or "all healthy")


def partial_failure(stack: Stack, result: ScenarioResult, http: httpx.Client, flow: SignalFlow) -> None:
    stack.stop("agent-momentum")
    try:
        others = tuple(f"agent-{a}" for a in AGENT_TYPES if a != "momentum")
        before = pipeline_counters(stack, http, others)
        ids = _send_fresh(flow, 10)
        result.check("10 signals accepted with the momentum agent stopped", len(ids) == 10, len(ids))
        done = poll_until(lambda: _all_moved(stack, http, before, others, len(ids)), SETTLE_S)
        result.check("the other agents processed every one of them", done is not None, _deltas(stack, http, before, others))
        decisions = _decisions_of(flow, ids)
        degraded = [d for d in decisions if d.get("status") == "degraded" and d.get("missing_agents") == ["momentum"]]
        result.check(
            "every workflow completed degraded, naming momentum as missing",
            len(degraded) == len(ids),
            f"{len(degraded)} of {len(ids)}: {sorted({str(d.get('status')) for d in decisions})}",
        )
    finally:
        stack.start("agent-momentum")
    ids = _send_fresh(flow, 3)
    decisions = _decisions_of(flow, ids)
    complete = [d for d in decisions if d.get("missing_agents") == [] and d.get("status") != "degraded"]
    result.check(
        "with momentum back, workflows complete with every agent", len(complete) == len(ids), f"{len(complete)} of {len(ids)}"
    )


def _send_fresh(flow: SignalFlow, count: int) -> list[str]:
    ids = []
    for i in range(count):
        payload = {**SPEC_SIGNAL, "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"), "strategy": f"partial-{i}"}
        answer = flow.send_one(payload)
        if answer.status == 200 and answer.signal_id:
            ids.append(answer.signal_id)
    return ids


def _decisions_of(flow: SignalFlow, ids: list[str]) -> list[dict[str, Any]]:
    poll_until(lambda: all(s in flow.decisions for s in ids), SETTLE_S, interval_s=0.2)
    return [dict(flow.decisions[s]) for s in ids if s in flow.decisions]


def _all_moved(stack: Stack, http: httpx.Client, before: dict[str, float], names: tuple[str, ...], by: int) -> bool:
    return all(d >= by for d in _deltas(stack, http, before, names).values())


def _deltas(stack: Stack, http: httpx.Client, before: dict[str, float], names: tuple[str, ...]) -> dict[str, float]:
    now = pipeline_counters(stack, http, names)
    return {n: now[n] - before[n] for n in names}


Scenario = Callable[[Stack, ScenarioResult, httpx.Client, SignalFlow], None]
SCENARIOS: dict[str, Scenario] = {"signal-flow": signal_flow, "high-load": high_load, "partial-failure": partial_failure}


def run_scenario(stack: Stack, name: str) -> ScenarioResult:
    """Run one scenario on the running stack (every program is checked healthy first)."""
    if name not in SCENARIOS:
        raise UnknownExperimentError([name], sorted(SCENARIOS))
    result = ScenarioResult(name)
    started = time.monotonic()
    stack.wait_healthy(timeout=30)
    loop = BackgroundLoop(f"scenario-{name}")
    flow = SignalFlow(stack.settings, loop, per_s=1.0, tag=f"scenario-{name}")
    try:
        with httpx.Client(timeout=10.0, **web_client_options(stack.settings)) as http:
            flow.watch_decisions()
            SCENARIOS[name](stack, result, http, flow)
    finally:
        flow.close()
        loop.close()
        result.duration_s = time.monotonic() - started
    return result
