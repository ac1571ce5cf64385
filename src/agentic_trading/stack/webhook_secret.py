"""The webhook secret a stack was started with, kept so the traffic tools can sign their requests.

``atctl up`` starts supervisord with ``AT_WEBHOOK_SECRET`` in its environment (the
services inherit it) and records the same value as ``<state_dir>/secrets/webhook_secret``
(mode 0600 in a 0700 directory, see :mod:`.secrets`); a stack started without a secret
has no such file. ``atctl load`` and ``atctl generate`` read it back to sign their
webhooks, so they get 200s from a stack with a secret without the user typing it again.
"""

from __future__ import annotations

from agentic_trading.settings import Settings
from agentic_trading.stack.paths import StackPaths
from agentic_trading.stack.secrets import read_secret, remove_secret, write_secret

WEBHOOK_SECRET = "webhook_secret"


def record_webhook_secret(paths: StackPaths, settings: Settings) -> None:
    """Record the secret of ``settings`` for later commands, or forget an old one when there is none."""
    if settings.webhook_secret is None:
        remove_secret(paths, WEBHOOK_SECRET)
    else:
        write_secret(paths, WEBHOOK_SECRET, settings.webhook_secret.get_secret_value())


def recorded_webhook_secret(paths: StackPaths) -> str | None:
    """The secret the stack in ``paths`` was started with; None when it was started without one."""
    return read_secret(paths, WEBHOOK_SECRET) or None
