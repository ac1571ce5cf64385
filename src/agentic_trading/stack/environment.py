"""What environment supervisord and each supervised program start with: settings in, secrets only where needed.

supervisord's children inherit its environment, and supervisord.conf can add variables to
a program but not take any away. So a secret that one program needs (the webhook secret,
for the gateway) is in supervisord's own environment, never in a file, and every other
program is started through ``env -u VARIABLE`` (which removes it and then ``exec``\\ s the
program, keeping its pid): a ``grep`` of ``/proc/*/environ`` finds it in supervisord and
the gateway only. Which program may hold which variable is
:data:`agentic_trading.credentials.SECRET_VARIABLE_HOLDERS`, which
``atctl verify --category security`` checks on the running processes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from agentic_trading.credentials import DASHBOARDS_PASSWORD_VARIABLE, SECRET_VARIABLE_HOLDERS, WEBHOOK_SECRET_VARIABLE
from agentic_trading.settings import Settings

ENV_BINARY = "/usr/bin/env"
# Every environment variable Settings reads (AT_GATEWAY_PORT, AT_NATS_URL, AT_WEBHOOK_SECRET, …).
SETTINGS_VARIABLES = frozenset((field.alias or f"AT_{name}").upper() for name, field in Settings.model_fields.items())


def supervisord_environment(settings: Settings, inherited: Mapping[str, str] | None = None) -> dict[str, str]:
    """supervisord's environment: the caller's, without its settings variables, plus the secrets.

    The programs' settings come from supervisord.conf; the caller's own values of those
    variables must not leak in (other AT_* variables, such as AT_DEMO_SPEED, pass through).
    """
    source = os.environ if inherited is None else inherited
    env = {key: value for key, value in source.items() if key not in SETTINGS_VARIABLES}
    if settings.webhook_secret is not None:
        env[WEBHOOK_SECRET_VARIABLE] = settings.webhook_secret.get_secret_value()
    if settings.dashboards_password is not None:
        env[DASHBOARDS_PASSWORD_VARIABLE] = settings.dashboards_password.get_secret_value()
    return env


def foreign_secrets(program: str) -> list[str]:
    """The secret variables ``program`` must not inherit."""
    return sorted(variable for variable, holders in SECRET_VARIABLE_HOLDERS.items() if program not in holders)


def without_foreign_secrets(program: str, command: Sequence[str]) -> list[str]:
    """``command`` run through ``env -u`` for every secret variable ``program`` does not need."""
    removed = foreign_secrets(program)
    if not removed:
        return list(command)
    unset = [arg for variable in removed for arg in ("-u", variable)]
    return [ENV_BINARY, *unset, "--", *command]
