"""Fixtures for the agents' tests: a signal factory and, for the state tests, a real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from agentic_trading.signals import Signal


def make_signal(**overrides: Any) -> Signal:
    fields: dict[str, Any] = {
        "signal_id": "sig_1",
        "correlation_id": "corr-1",
        "instrument": "EURUSD",
        "action": "buy",
        "timestamp": "2024-01-15T10:30:00Z",
        "received_at": 1_700_000_000.0,
    }
    fields.update(overrides)
    return Signal(**fields)


@pytest.fixture
def signal_factory() -> Callable[..., Signal]:
    return make_signal


@pytest.fixture(scope="session")
def redis_server(redis_url: str) -> str:
    """The session's throwaway redis-server (tests/conftest.py: on a free port, stopped afterwards)."""
    return redis_url


@pytest.fixture
async def redis_client(redis_server: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_server)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()
