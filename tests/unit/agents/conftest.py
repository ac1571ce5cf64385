"""Fixtures for the agents' tests: a signal factory and, for the state tests, a real Redis."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis

from agentic_trading.signals import Signal

REDIS_PORT = 47379  # this suite's port offset (41000) on Redis's 6379
STARTUP_DEADLINE_S = 10.0


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
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway redis-server on 127.0.0.1:47379, stopped after the session."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    workdir: Path = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(REDIS_PORT),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{REDIS_PORT}/0"
    client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
    deadline = time.monotonic() + STARTUP_DEADLINE_S
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"redis-server exited with {process.returncode}: is port {REDIS_PORT} already taken?")
            try:
                if client.ping():
                    break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    pytest.fail(f"redis-server did not answer on port {REDIS_PORT} within {STARTUP_DEADLINE_S} s")
                time.sleep(0.02)  # polling with a deadline
        yield url
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
async def redis_client(redis_server: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_server)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()
