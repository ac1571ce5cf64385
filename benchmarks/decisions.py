"""Signal-to-decision latency of the whole pipeline at 50, 200 and 1,000 signals/s, in one run.

The full stack (gateway, four agents, orchestrator, NATS, Redis, monitoring) runs on a port
offset of its own; ``atctl load``'s open model sends fresh signals at each rate; every decision
on the DECISIONS stream carries ``latency_s`` = decision time - gateway receipt time (one clock).
For each rate: accepted signals, decisions, p50/p95/p99/max, degraded share, and how long the
pipeline took to drain after the last signal.
Usage: ``python benchmarks/decisions.py [--duration 10] [--rates 50,200,1000]`` (about 2 minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import httpx
import nats
import orjson
from _harness import console, machine, own_stack, percentile, write_result
from nats.js.api import ConsumerConfig, DeliverPolicy
from rich.console import Console
from rich.table import Table

from agentic_trading.load.runner import run_open
from agentic_trading.stack import select_programs


def _stream_state(url: str, name: str) -> dict[str, int]:
    jsz = httpx.get(url + "/jsz", params={"streams": "true"}, timeout=5).json()
    for account in jsz.get("account_details", []):
        for stream in account.get("stream_detail", []):
            if stream["name"] == name:
                return stream["state"]
    return {"messages": 0, "last_seq": 0}


async def _decisions_after(nats_url: str, after_seq: int, until_seq: int) -> list[dict[str, Any]]:
    nc = await nats.connect(nats_url)
    try:
        sub = await nc.jetstream().subscribe(
            "decisions.>",
            stream="DECISIONS",
            ordered_consumer=True,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=after_seq + 1),
        )
        decisions = []
        while True:
            msg = await sub.next_msg(timeout=10)
            decisions.append(orjson.loads(msg.data))
            if msg.metadata.sequence.stream >= until_seq:
                return decisions
    finally:
        await nc.close()


def measure(stack, rate: int, duration_s: float) -> dict[str, Any]:
    monitor = stack.settings.url("nats-monitor")
    before = _stream_state(monitor, "DECISIONS")["last_seq"]
    load = run_open(stack.settings.url("gateway") + "/webhook/tradingview", rate, duration_s, seed=rate).as_dict()
    accepted = load["status_codes"].get("200", 0)
    sent_done = time.monotonic()
    deadline = sent_done + 120
    while _stream_state(monitor, "DECISIONS")["last_seq"] - before < accepted and time.monotonic() < deadline:
        time.sleep(0.1)
    drained_s = time.monotonic() - sent_done
    last = _stream_state(monitor, "DECISIONS")["last_seq"]
    decisions = asyncio.run(_decisions_after(stack.settings.nats_url, before, last)) if last > before else []
    latencies_ms = [d["latency_s"] * 1000 for d in decisions]
    row = {
        "rate": rate,
        "accepted": accepted,
        "decisions": len(decisions),
        "gateway_p99_ms": load["latency_ms"]["p99"],
        "decision_latency_ms": {f"p{q}": round(percentile(latencies_ms, q), 2) for q in (50, 95, 99)}
        | {"max": round(max(latencies_ms), 2)}
        if latencies_ms
        else {},
        "degraded_share": round(sum(d["status"] == "degraded" for d in decisions) / max(1, len(decisions)), 4),
        "drain_after_last_signal_s": round(drained_s, 2),
    }
    console.print(
        f"  {rate}/s: {row['decisions']}/{accepted} decided, latency {row['decision_latency_ms']}, degraded {row['degraded_share']:.2%}"
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per rate (default 10)")
    parser.add_argument("--rates", default="50,200,1000", help="signals per second (default 50,200,1000)")
    parser.add_argument("--port-offset", type=int, default=7000, help="port offset of the benchmark's own stack")
    args = parser.parse_args()
    result: dict[str, Any] = {"machine": machine(), "duration_s": args.duration}
    programs = [p.name for p in select_programs(None, demo=False)]
    with own_stack(programs, args.port_offset) as stack:
        time.sleep(2)  # let the consumers settle after start; not a measurement
        result["rates"] = [measure(stack, int(rate), args.duration) for rate in args.rates.split(",")]
    write_result("decisions", result)
    table = Table(title="Signal to decision (one run)")
    for column in ("rate/s", "decided", "p50 ms", "p95 ms", "p99 ms", "max ms", "degraded", "drain s"):
        table.add_column(column, justify="right")
    for row in result["rates"]:
        lat = row["decision_latency_ms"]
        table.add_row(str(row["rate"]), f"{row['decisions']}/{row['accepted']}", str(lat.get("p50")), str(lat.get("p95")),
                      str(lat.get("p99")), str(lat.get("max")), f"{row['degraded_share']:.2%}", str(row["drain_after_last_signal_s"]))  # fmt: skip
    Console(highlight=False).print(table)


if __name__ == "__main__":
    main()
