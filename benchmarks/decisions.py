"""Signal-to-decision latency of the whole pipeline at 50, 200 and 1,000 signals/s, in one run.

The full stack (gateway, four agents, orchestrator, NATS, Redis, monitoring) runs on a port
offset of its own; ``atctl load``'s open model sends fresh signals at each rate; every decision
on the DECISIONS stream carries ``latency_s`` = decision time - gateway receipt time (one clock).
For each rate: accepted signals, decisions, p50/p95/p99/max, degraded share, how long the
pipeline took to drain after the last signal, and the CPU milliseconds each program spent per
decided signal (user + system from /proc: the figure that stays comparable on a busy machine),
also as the *marginal* cost: less what the program spends idle (measured for 5 s before the
first rate, times the rate's wall time), because on a starved machine the drain stretches
and the fixed per-second costs (deadline sweeper, scrapes, idle pulls) swell the plain figure.
It also reports the load generator's own CPU (cores, ms per request): it shares the two cores.

Then a search over rates (bisection between the highest clean rate measured and the lowest
unclean one) finds the highest **clean** rate: every signal decided, 0 % degraded, p99 under
:data:`CLEAN_P99_MS`.
Usage: ``python benchmarks/decisions.py [--duration 10] [--rates 50,200,1000] [--search 3]``
(about 3 minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import time
from typing import Any

import nats
import orjson
from _cpu import cpu_seconds, idle_cores, marginal_ms, per_signal_ms
from _harness import console, machine, own_stack, percentile, stream_state, write_result
from nats.js.api import ConsumerConfig, DeliverPolicy
from rich.console import Console
from rich.table import Table

from agentic_trading.credentials import ADMIN, nats_credentials
from agentic_trading.load.runner import run_open
from agentic_trading.settings import Settings
from agentic_trading.stack import select_programs

CLEAN_P99_MS = 250.0
# What the pipeline itself runs (the monitoring programs and the canary are left out of its sum).
PIPELINE_PROGRAMS = ("gateway", "orchestrator", "nats", "redis", "supervisord") + tuple(
    f"agent-{agent}" for agent in ("momentum", "risk", "sentiment", "correlation")
)


async def _decisions_after(settings: Settings, after_seq: int, until_seq: int) -> list[dict[str, Any]]:
    nc = await nats.connect(settings.nats_url, **nats_credentials(settings, ADMIN))
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


def _wait_for_decisions(stack, before: int, accepted: int, *, deadline: float) -> list[dict[str, Any]]:
    """The decisions of the load's signals once all ``accepted`` are in (or the deadline passed).

    The supervised canary posts a test signal every 2 s through the same gateway: its decisions
    are on the same stream and are left out (the load's signals are not test signals), as the
    live tests leave the canary's signals out of their counts. "2005/2000 decided" was them.
    """
    while True:
        last = stream_state(stack, "DECISIONS")["last_seq"]
        late = time.monotonic() > deadline
        if last - before >= accepted or (late and last > before):
            decisions = [d for d in asyncio.run(_decisions_after(stack.settings, before, last)) if not d.get("test")]
            if len(decisions) >= accepted or late:
                return decisions
        elif late:
            return []
        time.sleep(0.2)


def measure(stack, rate: int, duration_s: float, idle: dict[str, float] | None = None) -> dict[str, Any]:
    before = stream_state(stack, "DECISIONS")["last_seq"]
    cpu_before = cpu_seconds(stack)
    started, generator_before = time.monotonic(), _generator_cpu_s()
    load = run_open(stack.settings.url("gateway") + "/webhook/tradingview", rate, duration_s, seed=rate).as_dict()
    generator_s = _generator_cpu_s() - generator_before
    accepted = load["status_codes"].get("200", 0)
    sent_done = time.monotonic()
    decisions = _wait_for_decisions(stack, before, accepted, deadline=sent_done + 120)
    drained_s = time.monotonic() - sent_done
    cpu_after = cpu_seconds(stack)
    wall_s = time.monotonic() - started
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
        "cpu_ms_per_decision": per_signal_ms(cpu_before, cpu_after, len(decisions)),
        "cpu_ms_per_decision_marginal": marginal_ms(cpu_before, cpu_after, idle or {}, wall_s, len(decisions)),
        # The load generator shares the two cores: this process and its (reaped) worker processes.
        "load_generator_cpu_ms_per_request": round(1000 * generator_s / max(1, load["requests"]), 3),
        "load_generator_cores": round(generator_s / duration_s, 3),
        "wall_s": round(wall_s, 1),
        "load_average": round(os.getloadavg()[0], 2),
    }
    row["clean"] = is_clean(row, expected=int(rate * duration_s))
    top = ", ".join(f"{k} {v}" for k, v in list(row["cpu_ms_per_decision"].items())[:4])
    console.print(
        f"  {rate}/s: {row['decisions']}/{accepted} decided, latency {row['decision_latency_ms']}, "
        f"degraded {row['degraded_share']:.2%}, clean {row['clean']}; CPU ms/decision: {top}; "
        f"load generator {row['load_generator_cores']} cores"
    )
    return row


def _generator_cpu_s() -> float:
    """user + system CPU seconds of this process and its reaped children (the load's worker processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def is_clean(row: dict[str, Any], *, expected: int) -> bool:
    """Every signal sent was accepted and decided, none degraded, p99 under the bar."""
    p99 = row["decision_latency_ms"].get("p99", float("inf"))
    return row["accepted"] == expected == row["decisions"] and row["degraded_share"] == 0 and p99 < CLEAN_P99_MS


def search_clean_rate(stack, rows: list[dict[str, Any]], duration_s: float, steps: int) -> int | None:
    """Bisect between the highest clean rate and the next unclean one above it (``steps`` runs at most)."""
    for _ in range(steps):
        clean = [r["rate"] for r in rows if r["clean"]]
        low = max(clean, default=0)
        above = [r["rate"] for r in rows if not r["clean"] and r["rate"] > low]
        if not above:
            break  # everything measured was clean: the answer is at least the highest rate
        high = min(above)
        if high - low <= max(25, low // 20):
            break
        rows.append(measure(stack, (low + high) // 2, duration_s))
    return max((r["rate"] for r in rows if r["clean"]), default=None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per rate (default 10)")
    parser.add_argument("--rates", default="50,200,1000", help="signals per second (default 50,200,1000)")
    parser.add_argument("--search", type=int, default=3, help="bisection runs for the highest clean rate (default 3)")
    parser.add_argument("--port-offset", type=int, default=7000, help="port offset of the benchmark's own stack")
    args = parser.parse_args()
    result: dict[str, Any] = {"machine": machine(), "duration_s": args.duration}
    programs = [p.name for p in select_programs(None, demo=False)]
    with own_stack(programs, args.port_offset) as stack:
        time.sleep(2)  # let the consumers settle after start; not a measurement
        idle = idle_cores(stack)
        result["idle_cores"] = {name: round(cores, 4) for name, cores in idle.items()}
        rows = [measure(stack, int(rate), args.duration, idle) for rate in args.rates.split(",")]
        result["highest_clean_rate"] = search_clean_rate(stack, rows, args.duration, args.search)
        result["rates"] = sorted(rows, key=lambda r: r["rate"])
    result["clean_means"] = f"every signal decided, 0 % degraded, p99 < {CLEAN_P99_MS:g} ms"
    write_result("decisions", result)
    table = Table(title="Signal to decision (one run)")
    for column in ("rate/s", "decided", "p50 ms", "p95 ms", "p99 ms", "max ms", "degraded", "drain s"):
        table.add_column(column, justify="right")
    for row in result["rates"]:
        lat = row["decision_latency_ms"]
        table.add_row(str(row["rate"]), f"{row['decisions']}/{row['accepted']}", str(lat.get("p50")), str(lat.get("p95")),
                      str(lat.get("p99")), str(lat.get("max")), f"{row['degraded_share']:.2%}", str(row["drain_after_last_signal_s"]))  # fmt: skip
    Console(highlight=False).print(table)
    cpu = Table(title="CPU ms per decided signal (user + system, from /proc)")
    cpu.add_column("program")
    for row in result["rates"]:
        cpu.add_column(f"{row['rate']}/s", justify="right")
    for name in result["rates"][-1]["cpu_ms_per_decision"]:
        cpu.add_row(name, *(str(row["cpu_ms_per_decision"].get(name, "")) for row in result["rates"]))
    cpu.add_row("all", *(f"{sum(row['cpu_ms_per_decision'].values()):.3f}" for row in result["rates"]))
    pipeline = [n for n in result["rates"][-1]["cpu_ms_per_decision_marginal"] if n in PIPELINE_PROGRAMS]
    cpu.add_row(
        "pipeline, marginal",
        *(f"{sum(row['cpu_ms_per_decision_marginal'].get(n, 0) for n in pipeline):.3f}" for row in result["rates"]),
    )
    Console(highlight=False).print(cpu)
    best = result["highest_clean_rate"]
    print(f"highest clean rate ({result['clean_means']}): {best if best is not None else 'none'} signals/s")


if __name__ == "__main__":
    main()
