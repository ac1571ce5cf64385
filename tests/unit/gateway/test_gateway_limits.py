"""The gateway's limits, pure: client address, allow-lists, token buckets, the body deadline."""

import asyncio
import time

import pytest

from agentic_trading.gateway.limits import (
    AddressSet,
    BodyTimeout,
    TokenBuckets,
    client_address,
    parse_networks,
    read_body_within,
    retry_after_header,
)


def _scope(peer="10.0.0.5", *headers):
    return {"client": (peer, 1234) if peer else None, "headers": list(headers)}


def test_client_address_is_the_peer_unless_a_proxy_is_trusted():
    scope = _scope("127.0.0.1", (b"x-forwarded-for", b"198.51.100.1, 52.89.214.238"))
    assert client_address(scope, trust_proxy=False) == "127.0.0.1"
    assert client_address(scope, trust_proxy=True) == "52.89.214.238"
    assert client_address(_scope("127.0.0.1"), trust_proxy=True) == "127.0.0.1"
    assert client_address(_scope(None), trust_proxy=False) == "unknown"
    # Two headers: the proxy appended its own last.
    two = _scope("127.0.0.1", (b"x-forwarded-for", b"52.89.214.238"), (b"x-forwarded-for", b"203.0.113.9"))
    assert client_address(two, trust_proxy=True) == "203.0.113.9"


def test_address_sets_match_cidrs_mapped_ipv6_and_never_garbage():
    allowed = AddressSet(parse_networks("52.89.214.238, 10.0.0.0/8 ,::1"))
    assert "52.89.214.238" in allowed and "10.200.1.1" in allowed and "::1" in allowed
    assert "::ffff:10.1.2.3" in allowed
    assert "52.89.214.239" not in allowed
    assert "unknown" not in allowed and "not-an-ip" not in allowed and "" not in allowed
    assert not AddressSet(parse_networks(None)) and not AddressSet(parse_networks(""))


def test_a_bucket_allows_a_burst_then_the_rate():
    buckets = TokenBuckets(rate_per_s=2.0, burst=3)
    now = 1000.0
    assert [buckets.take("a", now) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = buckets.take("a", now)
    assert wait == pytest.approx(0.5)
    assert buckets.take("b", now) == 0.0  # per source
    assert buckets.take("a", now + 0.5) == 0.0  # one token back after 1/rate
    assert buckets.take("a", now + 0.5) > 0
    assert [buckets.take("a", now + 100) for _ in range(3)] == [0.0, 0.0, 0.0]  # never more than the burst
    assert buckets.take("a", now + 100) > 0


def test_buckets_stay_bounded_under_many_sources():
    buckets = TokenBuckets(rate_per_s=1.0, burst=2, max_sources=100)
    for i in range(10_000):
        buckets.take(f"10.0.{i // 256}.{i % 256}", now=1000.0 + i * 0.001)
    assert len(buckets) <= 100


def test_retry_after_is_whole_seconds_at_least_one():
    assert retry_after_header(0.01) == (b"retry-after", b"1")
    assert retry_after_header(2.2) == (b"retry-after", b"3")


async def test_a_body_is_read_in_chunks_and_refused_past_the_limit():
    async def chunks(parts):
        messages = iter([{"body": p, "more_body": i < len(parts) - 1} for i, p in enumerate(parts)])

        async def receive():
            return next(messages)

        return receive

    assert await read_body_within(await chunks([b"ab", b"cd", b"e"]), limit=10, deadline_s=1) == b"abcde"
    assert await read_body_within(await chunks([b"abcdef", b"ghijkl"]), limit=10, deadline_s=1) is None


async def test_a_body_that_never_completes_times_out_and_the_task_stays_usable():
    async def receive():
        await asyncio.Event().wait()  # a sender that never finishes its body

    started = time.monotonic()
    with pytest.raises(BodyTimeout):
        await read_body_within(receive, limit=10, deadline_s=0.05)
    assert time.monotonic() - started < 1
    # The cancellation was ours and is consumed: no cancel request is left pending, and the
    # task can suspend and resume again (a pending one would raise CancelledError here).
    assert asyncio.current_task().cancelling() == 0
    await asyncio.sleep(0)


async def test_a_cancel_from_elsewhere_is_not_mistaken_for_the_deadline():
    reading = asyncio.Event()

    async def receive():
        reading.set()
        await asyncio.Event().wait()  # a sender that never finishes its body

    task = asyncio.create_task(read_body_within(receive, limit=10, deadline_s=60))
    await asyncio.wait_for(reading.wait(), timeout=5)  # the task is inside its body read
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
