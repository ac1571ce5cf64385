"""JetStream faults: a stream reconfigured on the stack under test, and a consumer that never acknowledges.

Both act on the real NATS server of the stack (as the admin user) and hand back what undoes
them, so an experiment's rollback restores the stream exactly as it found it:

* :func:`reconfigure_stream` changes a stream's subjects or ``max_bytes`` and returns its
  configuration before the change. Moving ``OPINIONS`` off ``opinions.>`` makes every agent's
  opinion publish fail ("no responders"), as a stream deleted or misconfigured by hand would.
  Lowering ``max_bytes`` lets a stream fill in seconds instead of writing hundreds of MiB.
* :func:`add_stuck_consumer` adds a durable consumer nobody reads: under interest retention
  the stream keeps every message from then on, as with a forgotten consumer in production.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import nats
from nats.aio.client import Client as NATS
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StreamConfig

from agentic_trading.credentials import ADMIN, nats_credentials
from agentic_trading.settings import Settings

CONNECT_TIMEOUT_S = 3


async def _admin(settings: Settings) -> NATS:
    # One attempt, no reconnect loop: a fault that cannot reach NATS must fail now, not in 2 minutes.
    return await nats.connect(
        settings.nats_url,
        connect_timeout=CONNECT_TIMEOUT_S,
        allow_reconnect=False,
        **nats_credentials(settings, ADMIN),
    )


async def reconfigure_stream(settings: Settings, stream: str, **changes: Any) -> StreamConfig:
    """Apply ``changes`` (StreamConfig fields: ``subjects``, ``max_bytes``) to ``stream``; return its config before."""
    nc = await _admin(settings)
    try:
        js = nc.jetstream()
        before = (await js.stream_info(stream)).config
        await js.update_stream(dataclasses.replace(before, **changes))
        return before
    finally:
        await nc.close()


async def restore_stream(settings: Settings, config: StreamConfig) -> None:
    nc = await _admin(settings)
    try:
        await nc.jetstream().update_stream(config)
    finally:
        await nc.close()


async def add_stuck_consumer(settings: Settings, stream: str, durable: str) -> None:
    """A durable consumer of new messages that nobody pulls: ``stream`` keeps them all (interest retention)."""
    nc = await _admin(settings)
    try:
        config = ConsumerConfig(durable_name=durable, deliver_policy=DeliverPolicy.NEW, ack_policy=AckPolicy.EXPLICIT)
        await nc.jetstream().add_consumer(stream, config)
    finally:
        await nc.close()


async def delete_consumer(settings: Settings, stream: str, durable: str) -> None:
    nc = await _admin(settings)
    try:
        await nc.jetstream().delete_consumer(stream, durable)
    finally:
        await nc.close()


def stream_fullness(jsz: dict[str, Any], stream: str) -> tuple[int, int] | None:
    """``(bytes, max_bytes)`` of ``stream`` in a ``/jsz?streams=true&config=true`` answer (None: not there)."""
    for account in jsz.get("account_details", []):
        for detail in account.get("stream_detail", []):
            if detail.get("name") == stream:
                config = detail.get("config") or {}
                return int(detail["state"]["bytes"]), int(config.get("max_bytes", -1))
    return None
