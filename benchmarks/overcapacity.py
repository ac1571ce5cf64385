"""Over capacity, told in order: backlog and readiness first, then degraded decisions, then the alert.

Runs the full stack on a port offset of its own and sends fresh signals (``atctl load``'s open
model) at a rate the machine cannot keep up with, for long enough for
``OrchestratorDegradedWorkflows`` (more than 10 % degraded over 5 minutes, for 2 minutes) to
fire. Once a second it records the gateway's ``/readyz`` and ``gateway_signal_backlog_seconds``,
the orchestrator's degraded and total workflows, and Prometheus' ``ALERTS``; the result is a
timeline (``benchmarks/results/overcapacity.json``) and the first second each of them turned.
Usage: ``python benchmarks/overcapacity.py [--rate 1000] [--duration 300] [--port-offset 7000]``.
"""

from __future__ import annotations

import argparse
import threading
import time
from typing import Any

import httpx
from _harness import console, machine, own_stack, write_result
from prometheus_client.parser import text_string_to_metric_families

from agentic_trading.load.runner import run_open
from agentic_trading.stack import select_programs

ALERT = "OrchestratorDegradedWorkflows"


def _sample(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                total += s.value
    return total


def observe(http: httpx.Client, settings: Any, started: float) -> dict[str, Any]:
    """One point of the timeline; a part that does not answer is recorded as None."""
    point: dict[str, Any] = {"t_s": round(time.monotonic() - started, 1)}
    try:
        ready = http.get(settings.url("gateway") + "/readyz")
        point["gateway_ready"] = ready.status_code == 200
        point["backlog_check"] = ready.json()["checks"].get("signal_backlog")
        gateway = http.get(settings.url("gateway") + "/metrics").text
        point["backlog_s"] = round(_sample(gateway, "gateway_signal_backlog_seconds"), 2)
        orchestrator = http.get(settings.url("orchestrator") + "/metrics").text
        point["degraded"] = _sample(orchestrator, "orchestrator_workflows_total", status="degraded")
        point["workflows"] = _sample(orchestrator, "orchestrator_workflows_total")
        alerts = http.get(settings.url("prometheus") + "/api/v1/query", params={"query": f'ALERTS{{alertname="{ALERT}"}}'})
        point["alert"] = next((r["metric"]["alertstate"] for r in alerts.json()["data"]["result"]), None)
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        point["error"] = f"{type(exc).__name__}: {exc}"
    return point


def first(timeline: list[dict[str, Any]], test) -> float | None:
    return next((p["t_s"] for p in timeline if test(p)), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=1000, help="signals per second (default 1000)")
    parser.add_argument("--duration", type=float, default=300.0, help="seconds of load (default 300)")
    parser.add_argument("--port-offset", type=int, default=7000, help="port offset of the benchmark's own stack")
    args = parser.parse_args()
    result: dict[str, Any] = {"machine": machine(), "rate": args.rate, "duration_s": args.duration}
    programs = [p.name for p in select_programs(None, demo=False)]
    with own_stack(programs, args.port_offset) as stack, httpx.Client(timeout=5) as http:
        url = stack.settings.url("gateway") + "/webhook/tradingview"
        load: dict[str, Any] = {}
        sender = threading.Thread(target=lambda: load.update(run_open(url, args.rate, args.duration).as_dict()), daemon=True)
        started = time.monotonic()
        sender.start()
        timeline: list[dict[str, Any]] = []
        while sender.is_alive() or (
            timeline and timeline[-1].get("alert") != "firing" and time.monotonic() - started < args.duration + 60
        ):
            timeline.append(point := observe(http, stack.settings, started))
            console.print(f"  {point}")
            if point.get("alert") == "firing" and not sender.is_alive():
                break
            time.sleep(1.0)
        sender.join()
    result["load"] = {k: load.get(k) for k in ("status_codes", "latency_ms")}
    result["timeline"] = timeline
    result["first_s"] = {
        "backlog_over_limit": first(timeline, lambda p: p.get("backlog_check") not in (None, "ok")),
        "gateway_not_ready": first(timeline, lambda p: p.get("gateway_ready") is False),
        "first_degraded_decision": first(timeline, lambda p: (p.get("degraded") or 0) > 0),
        "alert_pending": first(timeline, lambda p: p.get("alert") in ("pending", "firing")),
        "alert_firing": first(timeline, lambda p: p.get("alert") == "firing"),
    }
    write_result("overcapacity", result)
    print("first second of each (from the start of the load):")
    for name, t in result["first_s"].items():
        print(f"  {name:26} {t if t is not None else 'never'}")


if __name__ == "__main__":
    main()
