"""Where a signal's time goes between the gateway and its decision, hop by hop, from a running stack's logs.

Sends ``atctl load --rate R --duration S`` (fresh signals) to a running stack, waits for the
decisions, then reads every program's JSON log lines of those signals and prints, per hop,
milliseconds after the gateway accepted the signal (p50/p90/p99):

* ``opinion <agent>``: the agent logged its opinion (published, state recorded, before its ack);
* ``orchestrator got signal`` / ``… <agent>``: the orchestrator recorded that part in Redis;
* ``decision``: the orchestrator logged the published decision;

and the two waits between processes: opinion logged -> recorded by the orchestrator, last
part recorded -> decision published. Every line's ``ts`` is taken when the line is built, on
one clock. A fixed wait shows as a floor under a hop; CPU queueing as long tails on all of them.

Usage: ``python benchmarks/hops.py --port-offset N --state-dir D [--rate 200] [--duration 10]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path

from _harness import percentile

from agentic_trading.settings import AGENT_TYPES

BIN = Path(sys.executable).parent


def _seconds(ts: str) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def events_since(logs: Path, since: float) -> dict[str, dict[str, float]]:
    """signal id -> hop name -> time, for the load's (non-test) signals logged after ``since``."""
    hops: dict[str, dict[str, float]] = defaultdict(dict)
    names = {"signal_accepted": "gateway", "workflow_started": "orchestrator got signal", "decision_published": "decision"}
    for path in logs.glob("*.log*"):  # with the files supervisord rotated
        with path.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                if not line.startswith("{") or '"signal_id"' not in line:
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                event, ts = record.get("event"), record.get("ts")
                if not ts or record.get("test") or (at := _seconds(ts)) < since:
                    continue
                if event in names:
                    hops[record["signal_id"]][names[event]] = at
                elif event == "opinion_published":
                    hops[record["signal_id"]][f"opinion {record['agent_type']}"] = at
                elif event == "opinion_received":
                    hops[record["signal_id"]][f"orchestrator got {record['agent_type']}"] = at
    return hops


def report(hops: dict[str, dict[str, float]]) -> list[str]:
    complete = [h for h in hops.values() if "gateway" in h and "decision" in h]
    rows = [f"{len(complete)} signals from the gateway to a decision; ms after the gateway accepted each:"]

    def line(name: str, values: list[float]) -> None:
        if values:
            p50, p90, p99 = (percentile(values, q) for q in (50, 90, 99))
            rows.append(f"  {name:34} p50 {p50:8.1f}  p90 {p90:8.1f}  p99 {p99:8.1f}")

    order = [f"opinion {a}" for a in AGENT_TYPES] + ["orchestrator got signal"]
    order += [f"orchestrator got {a}" for a in AGENT_TYPES] + ["decision"]
    for name in order:
        line(name, [(h[name] - h["gateway"]) * 1000 for h in complete if name in h])
    rows.append("waits between processes (ms):")
    for agent in AGENT_TYPES:
        mine, theirs = f"opinion {agent}", f"orchestrator got {agent}"
        line(f"{agent} opinion -> orchestrator", [(h[theirs] - h[mine]) * 1000 for h in complete if mine in h and theirs in h])
    parts = ["orchestrator got signal", *(f"orchestrator got {a}" for a in AGENT_TYPES)]
    line("last part recorded -> decision", [(h["decision"] - max(h[p] for p in parts if p in h)) * 1000 for h in complete])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port-offset", type=int, required=True, help="the running stack's port offset")
    parser.add_argument("--state-dir", type=Path, required=True, help="the running stack's state directory")
    parser.add_argument("--rate", type=int, default=200, help="signals per second (default 200)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load (default 10)")
    args = parser.parse_args()
    since = time.time()
    stack_args = ["--port-offset", str(args.port_offset), "--state-dir", str(args.state_dir)]
    load = [str(BIN / "atctl"), "load", "--endpoint", "tradingview", "--rate", str(args.rate), "--duration", str(args.duration)]
    subprocess.run([*load, "-q", "--format", "json", *stack_args], check=True, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        hops = events_since(args.state_dir / "logs", since)
        expected = int(args.rate * args.duration)
        if sum("decision" in h for h in hops.values()) >= expected or time.monotonic() > deadline:
            break
        time.sleep(0.5)  # polling the logs for the last decisions, with a deadline
    print("\n".join(report(hops)))


if __name__ == "__main__":
    main()
