"""Several gateway worker processes on one port, and metrics that add up across them.

With ``AT_GATEWAY_WORKERS=1`` (the default) nothing here runs: the gateway keeps its own
registry in memory. With N > 1 uvicorn starts N worker processes sharing the listening
socket, and a scrape reaches one of them; each would report only its own counts. So the
workers use prometheus_client's multiprocess mode: every counter, histogram and gauge
value lives in a memory-mapped file per process in ``<state_dir>/gateway-metrics``
(emptied when the gateway starts), and ``/metrics`` answers from all of them
(``MultiProcessCollector``): counters and histograms are summed over the workers, alive
or not (a total never goes back), and each gauge is aggregated by the mode it declares
in ``telemetry/metrics.py``. Files of a worker that died are kept for counters but its
gauges are dropped (``mark_process_dead``) by the next scrape.

The build info and ``process_*`` series come from the worker that answers the scrape.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from prometheus_client import CollectorRegistry, multiprocess
from prometheus_client.mmap_dict import MmapedDict

from agentic_trading.telemetry.metrics import register_build_info

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
METRICS_DIR_NAME = "gateway-metrics"
CONNECTED_GAUGE = "gateway_nats_connected"


def metrics_dir(state_dir: Path) -> Path:
    return state_dir / METRICS_DIR_NAME


def prepare_metrics_dir(path: Path) -> None:
    """Empty the directory and point prometheus_client at it (before any worker starts).

    Must run before the workers import prometheus_client: the value class is chosen from
    the environment at import time, and spawned workers inherit this process's environment.
    """
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(path)


def multiprocess_dir() -> Path | None:
    """The shared metrics directory when this process runs as one of several workers."""
    value = os.environ.get(MULTIPROC_ENV)
    return Path(value) if value else None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _file_pids(path: Path) -> set[int]:
    pids = set()
    for file in path.glob("*.db"):
        tail = file.stem.rsplit("_", 1)[-1]
        if tail.isdigit():
            pids.add(int(tail))
    return pids


def forget_dead_workers(path: Path) -> None:
    """Drop the live gauges of workers that exited (uvicorn restarts a dead worker under a new pid)."""
    for pid in _file_pids(path):
        if not _pid_alive(pid):
            multiprocess.mark_process_dead(pid, str(path))


def scrape_registry(path: Path) -> CollectorRegistry:
    """A registry for one scrape: every worker's metrics from the files, this worker's process metrics."""
    forget_dead_workers(path)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(path))
    register_build_info(registry, "gateway")
    return registry


def connected_workers(path: Path) -> tuple[int, int]:
    """(workers holding a NATS connection, workers alive), read from each live worker's gauge file."""
    connected = alive = 0
    for file in path.glob("gauge_livemin_*.db"):
        tail = file.stem.rsplit("_", 1)[-1]
        if not tail.isdigit() or not _pid_alive(int(tail)):
            continue
        try:
            values = MmapedDict.read_all_values_from_file(str(file))
        except FileNotFoundError:  # the worker died and a scrape dropped its gauges meanwhile
            continue
        alive += 1
        if any(json.loads(key)[0] == CONNECTED_GAUGE and value >= 1 for key, value, _ts, _pos in values):
            connected += 1
    return connected, alive
