"""The two load models and their arithmetic: who sends when.

* :class:`ClosedModel` is the specification's ``load_test.py``: ``users`` virtual users
  each send, wait for the answer, think for a while, and repeat. A slow server slows
  the users down, so it is never asked for more than it gives: latency is measured
  from the moment a user sent, and a stall hits only the few requests in flight.
* :class:`OpenModel` sends at a constant arrival rate whatever the server does:
  request ``i`` is due at ``t0 + i / rate``, decided before the run. Latency is
  measured from that *intended* time, so a request that waited behind a stall counts
  the wait (no coordinated omission). One schedule is split over worker processes by
  dealing its requests round-robin: worker ``k`` of ``n`` sends ``k, k + n, ...``.

Pure: no clocks, no sockets; the runner turns these into traffic.
"""

from __future__ import annotations

import math
import os
import random
from dataclasses import dataclass
from typing import Any

from agentic_trading.load.errors import LoadModelError

# What one worker process sends on schedule: measured on this project's 2-core machine,
# one process kept 30,000 req/s against nginx (no request more than 10 ms late) and fell
# behind at 40,000. A higher rate gets more workers, at most one per core.
RATE_PER_WORKER = 25_000.0


def _positive(name: str, value: float) -> None:
    if not value > 0 or math.isinf(value) or math.isnan(value):
        raise LoadModelError(f"{name} must be a positive number, not {value}")


@dataclass(frozen=True)
class OpenModel:
    """Constant arrival rate: ``rate`` requests a second for ``duration`` seconds."""

    rate: float
    duration: float

    kind = "open"

    def __post_init__(self) -> None:
        _positive("--rate", self.rate)
        _positive("--duration", self.duration)

    @property
    def request_count(self) -> int:
        """How many requests are due in ``[t0, t0 + duration)``: ``i / rate < duration``."""
        # The epsilon keeps 1000.0000000001 (a float product) from adding a request.
        return max(1, math.ceil(self.rate * self.duration - 1e-9))

    def intended_offset(self, index: int) -> float:
        """Seconds after ``t0`` at which request ``index`` is due."""
        return index / self.rate

    def split(self, workers: int) -> list[OpenShare]:
        """The schedule dealt round-robin over ``workers`` processes (never more shares than requests)."""
        workers = max(1, min(workers, self.request_count))
        return [OpenShare(self, index=k, stride=workers) for k in range(workers)]

    def describe(self, workers: int = 1) -> dict[str, Any]:
        return {"kind": "open", "rate": self.rate, "duration_s": self.duration, "workers": workers}


@dataclass(frozen=True)
class OpenShare:
    """The requests ``index, index + stride, ...`` of an open schedule: one worker's part."""

    model: OpenModel
    index: int
    stride: int

    @property
    def count(self) -> int:
        return len(range(self.index, self.model.request_count, self.stride))

    def offset(self, j: int) -> float:
        """Seconds after ``t0`` at which this share's ``j``-th request is due."""
        return self.model.intended_offset(self.index + j * self.stride)


@dataclass(frozen=True)
class ClosedModel:
    """``users`` virtual users that send, wait for the answer, think, and repeat."""

    users: int
    duration: float
    think_min: float = 1.0
    think_max: float = 3.0

    kind = "closed"

    def __post_init__(self) -> None:
        if self.users < 1:
            raise LoadModelError(f"--users must be at least 1, not {self.users}")
        _positive("--duration", self.duration)
        if self.think_min < 0 or self.think_max < 0:
            raise LoadModelError("think times cannot be negative (--think-min/--think-max)")
        if self.think_min > self.think_max:
            raise LoadModelError(f"--think-min ({self.think_min}) is larger than --think-max ({self.think_max})")

    def think_time(self, rng: random.Random) -> float:
        return rng.uniform(self.think_min, self.think_max) if self.think_max > 0 else 0.0

    def split(self, workers: int) -> list[ClosedModel]:
        """The users shared out over ``workers`` processes (as evenly as possible)."""
        workers = max(1, min(workers, self.users))
        base, extra = divmod(self.users, workers)
        return [
            ClosedModel(base + (1 if k < extra else 0), self.duration, self.think_min, self.think_max) for k in range(workers)
        ]

    def describe(self, workers: int = 1) -> dict[str, Any]:
        return {
            "kind": "closed",
            "users": self.users,
            "think_s": [self.think_min, self.think_max],
            "duration_s": self.duration,
            "workers": workers,
        }


LoadModel = OpenModel | ClosedModel


def auto_workers(model: LoadModel, cpus: int | None = None) -> int:
    """Worker processes for a model: one per :data:`RATE_PER_WORKER` of open rate, at most one per core."""
    if not isinstance(model, OpenModel):
        return 1
    cpus = cpus or os.cpu_count() or 1
    return max(1, min(cpus, math.ceil(model.rate / RATE_PER_WORKER)))
