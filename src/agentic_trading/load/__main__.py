"""``python -m agentic_trading.load``: the demo traffic program ``atctl up --demo`` supervises.

Sends the specification's normal traffic to the local gateway forever (``AT_DEMO_SPEED``
compresses time; default 60: one to five signals a second), logging a summary a minute.
Like every traffic tool it posts to ``/webhook/test`` (decided, but never moving the paper
positions), signed with ``AT_WEBHOOK_SECRET`` when the stack has one.
"""

from __future__ import annotations

import asyncio
import os

from agentic_trading.load.traffic import TrafficGenerator
from agentic_trading.settings import load_settings
from agentic_trading.telemetry.logging import configure_logging, get_logger


async def main() -> None:
    settings = load_settings()
    configure_logging("traffic", settings.log_level)
    log = get_logger("traffic")
    speed = float(os.environ.get("AT_DEMO_SPEED", "60"))
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    generator = TrafficGenerator(settings.url("gateway"), webhook_secret=secret)
    while True:
        report = await generator.normal(duration_s=60, speed=speed)
        log.info("traffic_summary", **report.as_dict())


if __name__ == "__main__":
    asyncio.run(main())
