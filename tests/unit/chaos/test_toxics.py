"""The fault proxy's arithmetic: latency, jitter without reordering, bandwidth pacing."""

from __future__ import annotations

import random

import pytest

from agentic_trading.chaos.toxics import ChunkSchedule, Toxics


def test_latency_delays_every_chunk_by_exactly_that_much():
    schedule = ChunkSchedule(Toxics(latency_ms=400))
    assert schedule.release_at(10.0, 100) == pytest.approx(10.4)
    assert schedule.release_at(11.0, 100) == pytest.approx(11.4)


def test_jitter_never_reorders_chunks():
    schedule = ChunkSchedule(Toxics(latency_ms=100, jitter_ms=100), random.Random(3))
    releases = [schedule.release_at(i * 0.001, 10) for i in range(500)]
    assert releases == sorted(releases)
    assert max(r - i * 0.001 for i, r in enumerate(releases)) > 0.15  # the jitter is really there


def test_bandwidth_paces_bytes_per_second():
    schedule = ChunkSchedule(Toxics(bandwidth_bps=1000))
    assert schedule.release_at(0.0, 500) == pytest.approx(0.5)
    assert schedule.release_at(0.0, 500) == pytest.approx(1.0)  # queued behind the first
    assert schedule.release_at(5.0, 100) == pytest.approx(5.1)  # idle link: no debt carried


def test_no_toxics_passes_at_once():
    assert ChunkSchedule(Toxics()).release_at(3.0, 65536) == 3.0
    assert Toxics().describe() == "no toxics"


@pytest.mark.parametrize(
    "bad",
    [{"mode": "sideways"}, {"latency_ms": -1}, {"latency_ms": 10, "jitter_ms": 20}, {"bandwidth_bps": -5}],
)
def test_impossible_toxics_are_refused(bad: dict[str, object]):
    with pytest.raises(ValueError):
        Toxics(**bad)  # type: ignore[arg-type]
