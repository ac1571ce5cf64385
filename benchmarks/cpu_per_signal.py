"""CPU milliseconds per decided signal of each program of a running stack, optionally with py-spy.

For comparing two versions of the code on a busy machine without restarting the whole stack:
bring a stack up by hand (``atctl up --only nats,redis,gateway,agent-momentum,agent-risk,
agent-sentiment,agent-correlation,orchestrator --port-offset N --state-dir D``), run this, change
the code, ``atctl restart`` the programs, run it again. Each run measures every program's idle
use for 5 s, sends ``atctl load --rate R --duration S``, waits for every accepted signal to be
decided, and prints, per program, CPU ms per decided signal (plain and above idle, as
``decisions.py`` does) and wake-ups per decided signal (voluntary context switches of all its
threads: the count moves far less with other people's load than CPU time does). With ``--profile DIR`` it also records the gateway, the orchestrator
and two agents with ``py-spy record -f raw`` during the load and prints where each spent its
samples (py-spy is in the ``bench`` extra).

Usage: ``python benchmarks/cpu_per_signal.py --port-offset N --state-dir D [--rate 800]
[--duration 10] [--profile DIR]`` (about a minute).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

from _cpu import cpu_seconds, idle_cores, marginal_ms, per_signal_ms, wakeups
from _harness import stream_state

from agentic_trading.settings import Settings
from agentic_trading.stack import Stack

PROFILED = ("gateway", "orchestrator", "agent-momentum", "agent-correlation")
BIN = Path(sys.executable).parent


def decisions_so_far(stack: Stack) -> int:
    return int(stream_state(stack, "DECISIONS")["last_seq"])


def top_functions(raw: Path, count: int = 12) -> list[tuple[float, str]]:
    """Share of the samples by leaf function in a py-spy raw file (uvloop waiting shows as ``Runner.run``)."""
    leaves: collections.Counter[str] = collections.Counter()
    for line in raw.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        leaf = re.sub(r" \(.*/(site-packages|python3\.\d+|src)/", " (", stack.split(";")[-1])
        leaves[re.sub(r":\d+\)$", ")", leaf)] += int(samples)
    total = sum(leaves.values()) or 1
    return [(round(100 * n / total, 1), name) for name, n in leaves.most_common(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port-offset", type=int, required=True, help="the running stack's port offset")
    parser.add_argument("--state-dir", type=Path, required=True, help="the running stack's state directory")
    parser.add_argument("--rate", type=int, default=800, help="signals per second (default 800)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load (default 10)")
    parser.add_argument("--profile", type=Path, help="also record py-spy raw profiles into this directory")
    args = parser.parse_args()
    stack = Stack(Settings(state_dir=args.state_dir, port_offset=args.port_offset))
    idle = idle_cores(stack)
    first, cpu_before, started = decisions_so_far(stack), cpu_seconds(stack), time.monotonic()
    woken_before = wakeups(stack)
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    stack_args = ["--port-offset", str(args.port_offset), "--state-dir", str(args.state_dir)]
    load = subprocess.Popen(
        [str(BIN / "atctl"), "load", "--rate", str(args.rate), "--duration", str(args.duration), "-q", "--format", "json", *stack_args],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    spies = []
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
        pids = {info.name: info.pid for info in stack.supervisor.info() if info.pid}
        time.sleep(2)  # past the generator's start-up
        for name in PROFILED:
            out = args.profile / f"{name}.txt"
            command = [str(BIN / "py-spy"), "record", "-p", str(pids[name]), "-d", str(max(1, int(args.duration) - 4)),
                       "-r", "50", "-f", "raw", "-o", str(out)]  # fmt: skip
            spies.append((name, out, subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
    accepted = json.loads(load.communicate()[0])["status_codes"].get("200", 0)
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the generator, reaped; py-spy not yet
    generator_s = (children_after.ru_utime + children_after.ru_stime) - (children_before.ru_utime + children_before.ru_stime)
    for _, _, spy in spies:
        spy.wait()
    deadline = time.monotonic() + 120
    while decisions_so_far(stack) - first < accepted and time.monotonic() < deadline:
        time.sleep(0.2)
    decided = decisions_so_far(stack) - first
    cpu_after, wall_s = cpu_seconds(stack), time.monotonic() - started
    woken = {n: (c - woken_before.get(n, c)) / max(1, decided) for n, c in wakeups(stack).items()}
    plain = per_signal_ms(cpu_before, cpu_after, decided)
    above_idle = marginal_ms(cpu_before, cpu_after, idle, wall_s, decided)
    print(f"{args.rate}/s for {args.duration:g} s: {accepted} accepted, {decided} decided, {wall_s:.1f} s with the drain, "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"{'program':20} {'CPU ms/signal':>14} {'above idle':>11} {'idle cores':>11} {'wake-ups/signal':>16}")
    for name, ms in plain.items():
        print(f"{name:20} {ms:14.3f} {above_idle.get(name, 0):11.3f} {idle.get(name, 0):11.3f} {woken.get(name, 0):16.1f}")
    print(f"{'all':20} {sum(plain.values()):14.3f} {sum(above_idle.values()):11.3f} {sum(idle.values()):11.3f} "
          f"{sum(woken.values()):16.1f}")  # fmt: skip
    # A new `atctl load` process: its interpreter start-up and imports (about a CPU second) are in
    # this figure; decisions.py measures the generator in its own process, without them.
    print(f"{'load generator':20} {1000 * generator_s / max(1, accepted):14.3f} ms per accepted signal, "
          f"start-up included ({generator_s / args.duration:.2f} cores while it sent)")  # fmt: skip
    for name, out, _ in spies:
        if out.exists():
            print(f"\n{name}: share of samples by function (py-spy, {out})")
            for share, function in top_functions(out):
                print(f"  {share:5.1f} %  {function}")


if __name__ == "__main__":
    main()
