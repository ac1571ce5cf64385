"""The small HTTP surface every service has: ``/healthz``, ``/readyz``, ``/metrics``.

Framework-free ASGI (the gateway's hot path is measured, and the rest shares the
same helpers). :func:`make_server` runs uvicorn inside the service's own event loop,
beside its consumer, so one process has one loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

import orjson
import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
ReadinessCheck = Callable[[], Awaitable[str | None]]  # returns None when ready, else what is wrong

JSON_HEADERS = [(b"content-type", b"application/json")]


async def send_json(send: Send, status: int, body: Any, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    payload = orjson.dumps(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": JSON_HEADERS + [(b"content-length", str(len(payload)).encode())] + (headers or []),
        }
    )
    await send({"type": "http.response.body", "body": payload})


async def send_metrics(send: Send, registry: CollectorRegistry) -> None:
    payload = generate_latest(registry)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", CONTENT_TYPE_LATEST.encode()),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The request body, or None once it grows past ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks) if len(chunks) != 1 else chunks[0]


async def run_readiness(checks: Mapping[str, ReadinessCheck]) -> dict[str, str]:
    """Run every readiness check with a timeout; name -> "ok" or what is wrong."""
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            problem = await asyncio.wait_for(check(), timeout=1.0)
        except TimeoutError:
            problem = "did not answer within 1 s"
        except Exception as exc:  # noqa: BLE001 - a readiness probe reports any failure
            problem = f"{type(exc).__name__}: {exc}"
        results[name] = problem or "ok"
    return results


class ServiceApp:
    """ASGI app for a background service: health, readiness and metrics, plus extra routes."""

    def __init__(
        self,
        service: str,
        registry: CollectorRegistry,
        readiness: Mapping[str, ReadinessCheck] | None = None,
        routes: Mapping[tuple[str, str], ASGIApp] | None = None,
    ):
        self.service = service
        self.registry = registry
        self.readiness = dict(readiness or {})
        self.routes = dict(routes or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan_noop(receive, send)
            return
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        route = self.routes.get((method, path))
        if route is not None:
            await route(scope, receive, send)
        elif path == "/metrics":
            await send_metrics(send, self.registry)
        elif path == "/healthz":
            await send_json(send, 200, {"status": "ok", "service": self.service})
        elif path == "/readyz":
            results = await run_readiness(self.readiness)
            ready = all(v == "ok" for v in results.values())
            await send_json(send, 200 if ready else 503, {"ready": ready, "service": self.service, "checks": results})
        else:
            await send_json(send, 404, {"error": "not_found", "path": path})


async def _lifespan_noop(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def make_server(app: ASGIApp, host: str, port: int) -> uvicorn.Server:
    """A uvicorn server to run inside an existing event loop (``await server.serve()``)."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        http="httptools",
        loop="none",
    )
    return _EmbeddedServer(config)


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its signal handling: the service drains itself on SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
