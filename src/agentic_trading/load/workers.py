"""Worker fan-out: one load model's parts in several processes, on one common ``t0``.

The parent starts one spawned process per part, waits until every one has its
connections open ("ready"), sets ``t0`` a quarter second ahead on the monotonic clock
(shared by all processes of the machine) and says start; the workers report progress
through a shared array and send back their results, which the parent merges.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import queue
import time
from typing import Any

from agentic_trading.load.drivers import PROGRESS_INTERVAL_S, ProgressCallback, ProgressSnapshot, RunOptions, drive, run_async
from agentic_trading.load.errors import LoadError
from agentic_trading.load.model import ClosedModel, OpenShare
from agentic_trading.load.report import LoadResult
from agentic_trading.load.target import Target

monotonic = time.monotonic


def _worker_main(
    part: OpenShare | ClosedModel,
    target: Target,
    options: RunOptions,
    index: int,
    t0_value: Any,
    start: Any,
    results: Any,
    counters: Any,
) -> None:
    """One worker process: say ready, wait for the common t0, run its part, send back its result."""

    async def ready() -> float:
        results.put(("ready", index, None))
        if not await asyncio.get_running_loop().run_in_executor(None, start.wait, 120):
            raise LoadError("the parent process never said start")
        return float(t0_value.value)

    def report(snapshot: ProgressSnapshot) -> None:
        counters[3 * index] = snapshot.sent
        counters[3 * index + 1] = snapshot.completed
        counters[3 * index + 2] = snapshot.failed

    try:
        result = run_async(drive(part, target, options, index=index, progress=report, ready=ready))
        results.put(("result", index, result.to_wire()))
    except Exception as exc:  # reported to the parent, which raises it as a LoadError
        results.put(("error", index, f"{type(exc).__name__}: {exc}"))


def run_workers(
    parts: list[OpenShare] | list[ClosedModel],
    target: Target,
    options: RunOptions,
    duration: float,
    progress: ProgressCallback | None,
) -> LoadResult:
    """Run each part in its own process on a common t0 and merge what they measured."""
    ctx = multiprocessing.get_context("spawn")
    n = len(parts)
    results = ctx.Queue()
    start = ctx.Event()
    t0_value = ctx.Value("d", 0.0)
    counters = ctx.Array("q", 3 * n, lock=False)
    processes = [
        ctx.Process(
            target=_worker_main,
            args=(part, target, options, k, t0_value, start, results, counters),
            name=f"atctl-load-{k}",
            daemon=True,
        )
        for k, part in enumerate(parts)
    ]
    for process in processes:
        process.start()
    collected: dict[int, LoadResult] = {}
    try:
        ready, deadline = 0, monotonic() + 60
        while ready < n:
            message = _next_message(results, processes, collected, deadline)
            if message is not None and message[0] == "ready":
                ready += 1
        t0 = monotonic() + 0.25
        t0_value.value = t0
        start.set()
        deadline = t0 + duration + 2 * options.timeout_s + 30
        while len(collected) < n:
            message = _next_message(results, processes, collected, deadline, poll_s=PROGRESS_INTERVAL_S)
            if message is not None and message[0] == "result":
                collected[message[1]] = LoadResult.from_wire(message[2])
            if progress is not None:
                progress(
                    ProgressSnapshot(
                        elapsed_s=max(0.0, monotonic() - t0),
                        duration_s=duration,
                        sent=sum(counters[3 * k] for k in range(n)),
                        completed=sum(counters[3 * k + 1] for k in range(n)),
                        failed=sum(counters[3 * k + 2] for k in range(n)),
                    )
                )
    finally:
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
    merged = collected[0]
    for k in range(1, n):
        merged.merge(collected[k])
    return merged


def _next_message(
    results: Any, processes: list[Any], collected: dict[int, LoadResult], deadline: float, poll_s: float = 0.5
) -> Any:
    """The next message from the workers (``None`` after ``poll_s`` without one); raises for dead or failed workers."""
    if monotonic() > deadline:
        raise LoadError("load worker processes did not finish in time; try fewer --workers or a shorter --duration")
    try:
        kind, index, payload = results.get(timeout=poll_s)
    except queue.Empty:
        for k, process in enumerate(processes):
            if k not in collected and process.exitcode is not None:
                # Give a result sent just before the exit the chance to arrive.
                try:
                    kind, index, payload = results.get(timeout=1.0)
                except queue.Empty:
                    raise LoadError(f"load worker {k} exited (code {process.exitcode}) without a result") from None
                break
        else:
            return None
    if kind == "error":
        raise LoadError(f"load worker {index} failed: {payload}")
    return kind, index, payload
