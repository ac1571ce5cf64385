"""``python -m agentic_trading.gateway``: the gateway under uvicorn (uvloop, httptools with header limits)."""

from __future__ import annotations

import uvicorn

from agentic_trading.gateway.protocol import GATEWAY_PROTOCOL, configure_header_limits
from agentic_trading.gateway.workers import metrics_dir, prepare_metrics_dir
from agentic_trading.settings import load_settings


def main() -> None:
    settings = load_settings()
    if settings.gateway_workers > 1:
        # Before uvicorn spawns the workers: they inherit the environment naming the directory.
        prepare_metrics_dir(metrics_dir(settings.state_dir))
    configure_header_limits(settings)
    uvicorn.run(
        "agentic_trading.gateway.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port("gateway"),
        workers=settings.gateway_workers,
        loop="uvloop",
        # httptools with header limits (431) and a lingering close after an early refusal (protocol.py).
        # By import path: spawned workers import it and create_app sets its limits there too.
        http=GATEWAY_PROTOCOL,
        access_log=False,
        log_level="warning",
        # The gateway alone decides whom to believe about the client address (AT_TRUST_PROXY):
        # uvicorn's own proxy-header handling would trust X-Forwarded-For from any loopback peer.
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=5,
        # Idle keep-alive connections are kept longer than clients keep them (httpx and most
        # pools: 5 s, uvicorn's own default too; nginx 60 s): a server that closes first races
        # the client's next request on the same connection, which then fails with a reset.
        timeout_keep_alive=75,
    )


if __name__ == "__main__":
    main()
