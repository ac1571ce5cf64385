"""Running a load model against an HTTP target: the entry points :func:`run`, :func:`run_open`, :func:`run_closed`.

The work is in three modules below this one: the HTTP client (:mod:`._client`), the
pacing of the open and closed models (:mod:`.drivers`) and the fan-out over worker
processes (:mod:`.workers`). The names callers use are importable from here.
"""

from __future__ import annotations

from agentic_trading.load._client import UNREACHABLE_ERRORS, probe
from agentic_trading.load.drivers import ProgressCallback, ProgressSnapshot, RunOptions, drive, run_async
from agentic_trading.load.errors import LoadError, TargetUnreachableError
from agentic_trading.load.model import ClosedModel, LoadModel, OpenModel, OpenShare, auto_workers
from agentic_trading.load.report import LoadResult
from agentic_trading.load.target import Target
from agentic_trading.load.workers import run_workers

__all__ = [
    "LoadError",
    "ProgressCallback",
    "ProgressSnapshot",
    "RunOptions",
    "Target",
    "TargetUnreachableError",
    "run",
    "run_closed",
    "run_open",
]


def run(
    model: LoadModel,
    url: str,
    *,
    workers: int | None = None,
    options: RunOptions | None = None,
    progress: ProgressCallback | None = None,
) -> LoadResult:
    """Run ``model`` against ``url`` in one or several processes; the merged :class:`LoadResult`.

    Raises :class:`TargetUnreachableError` when nothing answers at ``url`` (before the
    run, or when every request of the run failed to connect).
    """
    options = options or RunOptions()
    target = Target.parse(url)
    run_async(probe(target))
    workers = auto_workers(model) if workers is None else max(1, workers)
    parts: list[OpenShare] | list[ClosedModel] = model.split(workers)
    if len(parts) == 1:
        result = run_async(drive(parts[0], target, options, progress=progress))
    else:
        result = run_workers(parts, target, options, model.duration, progress)
    result.model = model.describe(len(parts))
    if result.requests and not result.status_codes and set(result.errors) <= UNREACHABLE_ERRORS:
        raise TargetUnreachableError(url, ", ".join(sorted(result.errors)).replace("_", " "))
    return result


def run_open(
    url: str,
    rate: float,
    duration: float,
    *,
    workers: int | None = None,
    connections: int = 512,
    timeout_s: float = 10.0,
    seed: int | None = None,
    progress: ProgressCallback | None = None,
) -> LoadResult:
    """Open model: ``rate`` requests a second for ``duration`` s, latency from each intended send time."""
    options = RunOptions(connections=connections, timeout_s=timeout_s, seed=seed)
    return run(OpenModel(rate, duration), url, workers=workers, options=options, progress=progress)


def run_closed(
    url: str,
    users: int,
    duration: float,
    *,
    think_min: float = 1.0,
    think_max: float = 3.0,
    workers: int = 1,
    timeout_s: float = 10.0,
    seed: int | None = None,
    progress: ProgressCallback | None = None,
) -> LoadResult:
    """Closed model: ``users`` send-wait-think loops for ``duration`` s, latency from each send."""
    options = RunOptions(timeout_s=timeout_s, seed=seed)
    model = ClosedModel(users, duration, think_min, think_max)
    return run(model, url, workers=workers, options=options, progress=progress)
