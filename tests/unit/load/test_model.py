"""The open model's schedule and its split over workers; the closed model's users."""

from __future__ import annotations

import random

import pytest

from agentic_trading.load.model import ClosedModel, LoadModelError, OpenModel, auto_workers


@pytest.mark.parametrize(
    ("rate", "duration", "count"),
    [(10, 1, 10), (3, 1, 3), (2.5, 1, 3), (1000, 2.5, 2500), (0.1 * 3, 10, 3), (7, 0.01, 1)],
)
def test_request_count_is_the_requests_due_before_the_end(rate, duration, count):
    model = OpenModel(rate, duration)
    assert model.request_count == count
    assert model.intended_offset(count - 1) < duration


def test_intended_times_are_evenly_spaced_from_t0():
    model = OpenModel(rate=4, duration=1)
    assert [model.intended_offset(i) for i in range(4)] == [0.0, 0.25, 0.5, 0.75]


@pytest.mark.parametrize("workers", [1, 2, 3, 7])
def test_split_deals_every_request_to_exactly_one_worker(workers):
    model = OpenModel(rate=1000, duration=1.003)
    shares = model.split(workers)
    assert len(shares) == workers
    offsets = sorted(share.offset(j) for share in shares for j in range(share.count))
    assert offsets == [model.intended_offset(i) for i in range(model.request_count)]
    for share in shares:
        # Each worker alone keeps rate / workers, evenly spaced.
        gaps = {round(share.offset(j + 1) - share.offset(j), 9) for j in range(share.count - 1)}
        assert gaps == {round(workers / model.rate, 9)}


def test_never_more_workers_than_requests():
    assert len(OpenModel(rate=2, duration=1).split(8)) == 2
    assert len(ClosedModel(users=3, duration=1).split(8)) == 3


def test_closed_split_shares_out_the_users():
    parts = ClosedModel(users=10, duration=5, think_min=0.5, think_max=1).split(3)
    assert [p.users for p in parts] == [4, 3, 3]
    assert all(p.duration == 5 and p.think_min == 0.5 and p.think_max == 1 for p in parts)


def test_think_time_stays_between_its_bounds():
    model = ClosedModel(users=1, duration=1, think_min=1, think_max=3)
    rng = random.Random(3)
    times = [model.think_time(rng) for _ in range(1000)]
    assert 1 <= min(times) and max(times) <= 3
    assert ClosedModel(users=1, duration=1, think_min=0, think_max=0).think_time(rng) == 0


def test_auto_workers_grow_with_the_rate_up_to_the_cores():
    assert auto_workers(ClosedModel(users=500, duration=1), cpus=8) == 1
    assert auto_workers(OpenModel(rate=100, duration=1), cpus=8) == 1
    assert auto_workers(OpenModel(rate=30_000, duration=1), cpus=8) == 2
    assert auto_workers(OpenModel(rate=10**6, duration=1), cpus=8) == 8
    assert auto_workers(OpenModel(rate=10**6, duration=1), cpus=2) == 2


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: OpenModel(rate=0, duration=1), "--rate must be a positive number"),
        (lambda: OpenModel(rate=10, duration=-1), "--duration must be a positive number"),
        (lambda: ClosedModel(users=0, duration=1), "--users must be at least 1"),
        (lambda: ClosedModel(users=1, duration=1, think_min=3, think_max=1), "--think-min (3) is larger"),
    ],
)
def test_impossible_models_say_which_option_to_change(build, message):
    with pytest.raises(LoadModelError) as caught:
        build()
    assert message in str(caught.value)
