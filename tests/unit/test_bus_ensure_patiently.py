"""An agent or orchestrator starting beside a slow JetStream waits for it instead of crashing."""

from __future__ import annotations

import asyncio

import nats.errors
import pytest

from agentic_trading import bus
from agentic_trading.settings import Settings


async def test_a_jetstream_timeout_is_tried_again_until_the_streams_exist(monkeypatch: pytest.MonkeyPatch):
    calls = []

    async def slow_then_ready(js, settings):
        calls.append(1)
        if len(calls) < 3:
            raise nats.errors.TimeoutError

    monkeypatch.setattr(bus, "ensure_streams", slow_then_ready)
    monkeypatch.setattr(bus, "ENSURE_RETRY_S", 0.01)
    assert await bus.ensure_streams_patiently(object(), Settings(port_offset=45000), asyncio.Event()) is True
    assert len(calls) == 3


async def test_a_stop_ends_the_wait_and_a_broken_configuration_is_not_retried(monkeypatch: pytest.MonkeyPatch):
    async def always_slow(js, settings):
        raise nats.errors.TimeoutError

    stop = asyncio.Event()
    stop.set()
    monkeypatch.setattr(bus, "ensure_streams", always_slow)
    assert await bus.ensure_streams_patiently(object(), Settings(port_offset=45000), stop) is False

    async def broken(js, settings):
        raise bus.StreamConfigError("stream SIGNALS cannot take this version's configuration")

    monkeypatch.setattr(bus, "ensure_streams", broken)
    with pytest.raises(bus.StreamConfigError):
        await bus.ensure_streams_patiently(object(), Settings(port_offset=45000), asyncio.Event())
