"""Where ``atctl load`` and ``atctl generate`` send, and the secret they sign with.

They find the gateway as every other command finds its stack: the state directory
(``--state-dir``, ``AT_STATE_DIR``, the config file, else ``.atctl``) holds
``stack.json`` with the ports the stack was started with, and ``secrets/webhook_secret``
when it was started with one. ``--gateway-url`` names another gateway instead; then only
``AT_WEBHOOK_SECRET`` signs (a recorded secret is never sent to a gateway it was not made
for). ``AT_WEBHOOK_SECRET`` in the environment wins over the recorded one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

import typer

from agentic_trading.cli.common import GlobalOptions, attach_stack, settings_from
from agentic_trading.load.traffic import LIVE_PATH, TEST_PATH
from agentic_trading.stack.state import record_exists
from agentic_trading.stack.webhook_secret import recorded_webhook_secret


class Endpoint(StrEnum):
    """Which webhook the traffic goes to: paper (``test``) unless told otherwise."""

    test = "test"
    tradingview = "tradingview"

    @property
    def path(self) -> str:
        return TEST_PATH if self is Endpoint.test else LIVE_PATH


GatewayUrlOption = Annotated[
    str | None,
    typer.Option(
        "--gateway-url",
        help="Gateway base URL, e.g. http://127.0.0.1:8001. Default: the gateway of the stack in --state-dir.",
        show_default=False,
    ),
]
EndpointOption = Annotated[
    Endpoint,
    typer.Option(
        "--endpoint",
        help="test: /webhook/test, decided but never moves positions; tradingview: /webhook/tradingview, live.",
    ),
]


@dataclass(frozen=True)
class GatewayTarget:
    """A gateway's base URL (no trailing slash) and the webhook secret to sign with, if any."""

    base_url: str
    webhook_secret: str | None

    def __repr__(self) -> str:  # never print the secret
        return f"GatewayTarget(base_url={self.base_url!r}, signed={self.webhook_secret is not None})"


def find_gateway(options: GlobalOptions, gateway_url: str | None) -> GatewayTarget:
    """The gateway to send to: ``gateway_url``, else the recorded stack's, else the settings' default."""
    settings = settings_from(options)
    env_secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    if gateway_url:
        return GatewayTarget(gateway_url.rstrip("/"), env_secret)
    if record_exists(settings.state_dir):
        stack = attach_stack(options)
        return GatewayTarget(stack.settings.url("gateway"), env_secret or recorded_webhook_secret(stack.paths))
    return GatewayTarget(settings.url("gateway"), env_secret)
