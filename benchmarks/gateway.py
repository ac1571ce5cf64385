"""Gateway throughput and latency, side by side with its peers and its physical reference, in one run.

Rows (issue #2 and #6):

1. **Saturation, closed loop** (wrk -t1 -c50): our gateway (every 200 durable on JetStream), the
   Flask receiver popular TradingView bots use (no broker at all), and nginx answering a static
   200 (the machine's reference). Rounds alternate the order.
2. **Fixed rates, open model** (`atctl load --rate`, latency from the intended send time): the
   gateway and the Flask peer at rising rates; the highest rate each holds with p99 < 25 ms and
   every request answered 200.
3. **Load generators**: how many requests/s `atctl load` (closed, 50 users, no think time) drives
   against nginx and the gateway, next to wrk on the same target.

The gateway runs as `atctl up` runs it (with NATS, Redis and JSON logs), on a stack of its own.
Usage: ``python benchmarks/gateway.py [--duration 10] [--rounds 2]`` (about 4 minutes);
``--saturation-only`` runs the rounds of 1. alone (the gateway-vs-Flask ratio, about a minute);
``--gateway-workers 2`` runs the gateway with two worker processes (``AT_GATEWAY_WORKERS``) and
the Flask peer with as many processes on its port.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

from _cpu import cpu_seconds, process_cpu
from _harness import Peer, console, flask_peer, machine, nginx_peer, own_stack, run_wrk, stream_state, write_result
from rich.console import Console
from rich.table import Table

from agentic_trading.load.runner import run_closed, run_open

P99_BUDGET_MS = 25.0


def _cpu_of(name: str, stack, peers: dict[str, Peer]) -> dict[str, float]:
    """CPU seconds so far of a target: the gateway with NATS, Redis and supervisord apart, a peer's process tree.

    supervisord is there because it used to copy every log line the gateway printed (one per
    accepted signal) into its log file; the gateway now writes its own (telemetry/log_file.py).
    """
    if name == "gateway":
        spent = cpu_seconds(stack)
        return {program: spent[program] for program in ("gateway", "nats", "redis", "supervisord")}
    return {name: process_cpu(peers[name].pid)}


def saturation(
    targets: dict[str, str], stack, peers: dict[str, Peer], rounds: int, duration_s: float
) -> dict[str, list[dict[str, Any]]]:
    """Closed-loop rounds; each run also records the CPU milliseconds per answered request.

    Requests per second depend on the share of the two cores a target gets from the kernel,
    which on a busy machine favours the many-threaded Flask server (one share per thread)
    over the one-threaded gateway; CPU per request does not, so both are reported.
    """
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in targets}
    order = list(targets)
    for round_no in range(rounds):
        for name in order if round_no % 2 == 0 else reversed(order):
            run_wrk(targets[name], duration_s=2)  # warm-up
            before = int(stream_state(stack, "SIGNALS")["messages"]) if name == "gateway" else None
            cpu_before = _cpu_of(name, stack, peers)
            result = run_wrk(targets[name], duration_s=duration_s)
            cpu_after = _cpu_of(name, stack, peers)
            result["cpu_ms_per_request"] = {
                program: round((cpu_after[program] - cpu_before[program]) * 1000 / max(1, result["requests"]), 4)
                for program in cpu_after
            }
            if before is not None:
                time.sleep(1)
                result["stored_on_jetstream"] = int(stream_state(stack, "SIGNALS")["messages"]) - before
                ok = result["requests"] - result["non_2xx"]
                assert result["stored_on_jetstream"] >= ok, f"a 200 without a stored signal: {result}"
            runs[name].append(result)
            cpu = ", ".join(f"{k} {v}" for k, v in result["cpu_ms_per_request"].items())
            console.print(
                f"  round {round_no + 1} {name:8} {result['rps']:>9.0f} req/s  p50 {result['latency_ms'].get('p50')} ms  "
                f"p99 {result['latency_ms'].get('p99')} ms  CPU ms/request: {cpu}"
            )
    return runs


def fixed_rates(url: str, rates: list[int], duration_s: float) -> list[dict[str, Any]]:
    rows = []
    for rate in rates:
        result = run_open(url, rate, duration_s, seed=rate).as_dict()
        row = {
            "rate": rate,
            "achieved_rps": result["throughput_rps"],
            "success_rate": result["success_rate"],
            "latency_ms": result["latency_ms"],
            "generator_lag": result.get("generator_lag"),
        }
        rows.append(row)
        console.print(
            f"  {url.split('/')[2]} @ {rate}/s: p50 {row['latency_ms']['p50']} ms, p99 {row['latency_ms']['p99']} ms, success {row['success_rate']:.4f}"
        )
        if row["success_rate"] < 0.999 or row["latency_ms"]["p99"] > 4 * P99_BUDGET_MS:
            break  # far past its limit: higher rates only queue
    return rows


def max_rate_within_budget(rows: list[dict[str, Any]]) -> int:
    held = [r["rate"] for r in rows if r["latency_ms"]["p99"] < P99_BUDGET_MS and r["success_rate"] >= 0.999]
    return max(held, default=0)


def generators(targets: dict[str, str], duration_s: float) -> dict[str, dict[str, float]]:
    rows = {}
    for name, url in targets.items():
        wrk = run_wrk(url, duration_s=duration_s)["rps"]
        ours = run_closed(url, 50, duration_s, think_min=0, think_max=0, seed=1).as_dict()["throughput_rps"]
        rows[name] = {"wrk_rps": wrk, "atctl_load_rps": round(ours, 1), "ratio": round(ours / wrk, 3)}
        console.print(f"  {name}: wrk {wrk:.0f}/s, atctl load {ours:.0f}/s ({ours / wrk:.2f}×)")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement (default 10)")
    parser.add_argument("--rounds", type=int, default=2, help="saturation rounds, alternating order (default 2)")
    parser.add_argument("--rates", default="1000,2000,4000,6000,8000,10000", help="open-model rates for the gateway")
    parser.add_argument("--flask-rates", default="250,500,1000,1500,2000,2500", help="open-model rates for the Flask peer")
    parser.add_argument("--port-offset", type=int, default=6000, help="port offset of the benchmark's own stack")
    parser.add_argument(
        "--saturation-only", action="store_true", help="only the saturation rounds (1.), the gateway-vs-Flask ratio"
    )
    parser.add_argument(
        "--gateway-workers",
        type=int,
        default=1,
        help="gateway worker processes (AT_GATEWAY_WORKERS) and Flask peer processes (default 1)",
    )
    args = parser.parse_args()
    os.environ["AT_GATEWAY_WORKERS"] = str(args.gateway_workers)  # read by the stack's settings and the gateway

    started = time.monotonic()
    result: dict[str, Any] = {
        "machine": machine(),
        "duration_s": args.duration,
        "p99_budget_ms": P99_BUDGET_MS,
        "gateway_workers": args.gateway_workers,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()[:2]],
    }
    with (
        own_stack(["nats", "redis", "gateway"], args.port_offset) as stack,
        flask_peer(args.gateway_workers) as peer,
        nginx_peer() as static,
    ):
        gateway, flask, nginx = stack.settings.url("gateway") + "/webhook/tradingview", peer.url, static.url
        targets = {"gateway": gateway, "flask": flask, "nginx": nginx}
        console.rule("1. saturation (wrk -t1 -c50)")
        runs = saturation(targets, stack, {"flask": peer, "nginx": static}, args.rounds, args.duration)
        result["saturation"] = {
            name: {
                "median_rps": statistics.median(r["rps"] for r in rs),
                "median_cpu_ms_per_request": {
                    program: statistics.median(r["cpu_ms_per_request"][program] for r in rs)
                    for program in rs[0]["cpu_ms_per_request"]
                },
                "runs": rs,
            }
            for name, rs in runs.items()
        }
        if not args.saturation_only:
            console.rule("2. fixed rates (open model, latency from the intended send time)")
            result["fixed_rates"] = {
                "gateway": fixed_rates(gateway, [int(r) for r in args.rates.split(",")], args.duration),
                "flask": fixed_rates(flask, [int(r) for r in args.flask_rates.split(",")], args.duration),
            }
            console.rule("3. load generators (closed, 50 connections, no think time)")
            result["generators"] = generators({"nginx": nginx, "gateway": gateway}, args.duration)

    sat = result["saturation"]
    result["summary"] = {
        "gateway_workers": args.gateway_workers,
        "gateway_median_rps": sat["gateway"]["median_rps"],
        "gateway_vs_flask": round(sat["gateway"]["median_rps"] / sat["flask"]["median_rps"], 2),
        "gateway_vs_nginx": round(sat["gateway"]["median_rps"] / sat["nginx"]["median_rps"], 3),
        # Requests per CPU second, the gateway's process against Flask's (and with NATS, Redis, supervisord too).
        "gateway_vs_flask_per_cpu": round(
            sat["flask"]["median_cpu_ms_per_request"]["flask"] / sat["gateway"]["median_cpu_ms_per_request"]["gateway"], 2
        ),
        "gateway_with_broker_vs_flask_per_cpu": round(
            sat["flask"]["median_cpu_ms_per_request"]["flask"] / sum(sat["gateway"]["median_cpu_ms_per_request"].values()), 2
        ),
        "gateway_cpu_ms_per_request": sat["gateway"]["median_cpu_ms_per_request"]["gateway"],
        "flask_cpu_ms_per_request": sat["flask"]["median_cpu_ms_per_request"]["flask"],
        "load_average_at_start": result["load_average_at_start"],
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()[:2]],
    }
    if "fixed_rates" in result:
        result["summary"]["gateway_max_rate_p99_under_25ms"] = max_rate_within_budget(result["fixed_rates"]["gateway"])
        result["summary"]["flask_max_rate_p99_under_25ms"] = max_rate_within_budget(result["fixed_rates"]["flask"])
    result["summary"]["wall_time_s"] = round(time.monotonic() - started, 1)
    name = "gateway-saturation" if args.saturation_only else "gateway"
    write_result(name if args.gateway_workers == 1 else f"{name}-{args.gateway_workers}-workers", result)
    table = Table(title="Gateway benchmark (one run, side by side)")
    for column in ("figure", "value"):
        table.add_column(column)
    for key, value in result["summary"].items():
        table.add_row(key, str(value))
    Console(highlight=False).print(table)


if __name__ == "__main__":
    main()
