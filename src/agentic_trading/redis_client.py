"""The one way services open Redis: a bounded, blocking connection pool with timeouts.

A plain pool raises ``MaxConnectionsError`` when a burst of concurrent tasks outnumbers
its connections; a blocking pool makes the extra tasks wait their turn instead. Each service
connects as its own ACL user (``user``: the service's name), whose password
:func:`agentic_trading.credentials.redis_url` finds in the stack's secrets.
"""

from __future__ import annotations

import redis.asyncio as aioredis

from agentic_trading.credentials import redis_url
from agentic_trading.settings import Settings


def connect_redis(settings: Settings, user: str, *, max_connections: int = 32, timeout_s: float = 2.0) -> aioredis.Redis:
    pool = aioredis.BlockingConnectionPool.from_url(
        redis_url(settings, user),
        max_connections=max_connections,
        timeout=timeout_s,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
    )
    return aioredis.Redis(connection_pool=pool)
