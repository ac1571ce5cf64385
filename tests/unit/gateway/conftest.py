"""A gateway without a stack: an in-memory JetStream stand-in that records what was published."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from agentic_trading.gateway.app import Gateway
from agentic_trading.settings import Settings


@dataclass
class Ack:
    seq: int
    duplicate: bool
    stream: str = "SIGNALS"


@dataclass
class FakeJetStream:
    """Acknowledges every publish (deduplicating by Nats-Msg-Id), or waits for ``release`` when held."""

    published: list[tuple[str, bytes, dict[str, str]]] = field(default_factory=list)
    held: asyncio.Event | None = None
    _ids: set[str] = field(default_factory=set)

    async def publish(self, subject: str, payload: bytes, timeout: float, headers: dict[str, str]) -> Ack:
        if self.held is not None:
            await self.held.wait()
        msg_id = headers["Nats-Msg-Id"]
        duplicate = msg_id in self._ids
        if not duplicate:
            self._ids.add(msg_id)
            self.published.append((subject, payload, headers))
        return Ack(seq=len(self.published), duplicate=duplicate)


class FakeNats:
    is_connected = True
    is_closed = False


GatewayFactory = Callable[..., tuple[Gateway, FakeJetStream]]


@pytest.fixture
def make_gateway() -> GatewayFactory:
    """``make_gateway(**settings)`` -> a gateway "connected" to a fresh FakeJetStream."""

    def make(**overrides: Any) -> tuple[Gateway, FakeJetStream]:
        gateway = Gateway(Settings(port_offset=45000, **overrides))
        js = FakeJetStream()
        gateway.nc, gateway.js = FakeNats(), js  # type: ignore[assignment]
        return gateway, js

    return make


@pytest.fixture
async def client_for() -> AsyncIterator[Callable[..., httpx.AsyncClient]]:
    """``client_for(gateway, client=("203.0.113.9", 5000))``: an HTTP client seen from that address."""
    clients: list[httpx.AsyncClient] = []

    def make(gateway: Gateway, client: tuple[str, int] = ("127.0.0.1", 123)) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=gateway, client=client)
        c = httpx.AsyncClient(transport=transport, base_url="http://gw")
        clients.append(c)
        return c

    yield make
    for c in clients:
        await c.aclose()
