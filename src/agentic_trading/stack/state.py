"""stack.json: the settings and programs a stack was started with.

Later commands (status, logs, trace, down, kill, …) read it, so ``--state-dir`` alone
finds ports and paths. Secrets (the webhook secret, the dashboards password) are never written
here (``atctl up`` keeps the webhook secret apart, in ``secrets/webhook_secret``: :mod:`.webhook_secret`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agentic_trading import __version__
from agentic_trading.settings import Settings
from agentic_trading.stack.errors import NoStackError, StackError
from agentic_trading.stack.paths import StackPaths

_SECRET_FIELDS = {"webhook_secret", "dashboards_password", "web_password"}


def replace_settings(settings: Settings, **changes: Any) -> Settings:
    """A copy of ``settings`` with ``changes``, rebuilt so derived values (URLs) follow.

    (``model_copy`` would keep cached properties such as ``nats_url`` from the original.)
    """
    values = settings.model_dump(by_alias=True)
    values.update(changes)
    return Settings(**values)


@dataclass
class StackRecord:
    settings: Settings
    programs: list[str]
    demo: bool = False
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    version: str = __version__

    def to_json(self) -> str:
        settings = self.settings.model_dump(mode="json", by_alias=True, exclude=_SECRET_FIELDS)
        body = {
            "version": self.version,
            "started_at": self.started_at,
            "demo": self.demo,
            "programs": self.programs,
            "settings": settings,
        }
        return json.dumps(body, indent=2) + "\n"

    def differences(self, settings: Settings) -> list[str]:
        """How ``settings`` differ from this record in host or ports (what makes it another stack)."""
        running = self.settings
        diffs = []
        if running.host != settings.host:
            diffs.append(f"host {running.host} (running) vs {settings.host}")
        if running.port_offset != settings.port_offset:
            diffs.append(f"port offset {running.port_offset} (running) vs {settings.port_offset}")
        else:
            for component in settings.components:
                if running.port(component) != settings.port(component):
                    diffs.append(f"{component} port {running.port(component)} (running) vs {settings.port(component)}")
        return diffs


def save_record(paths: StackPaths, record: StackRecord) -> None:
    tmp = paths.stack_json.with_suffix(".json.tmp")
    tmp.write_text(record.to_json())
    tmp.replace(paths.stack_json)


def load_record(paths: StackPaths, secret_from: Settings | None = None) -> StackRecord:
    """The recorded stack; the secret (never on disk) comes from ``secret_from`` or the environment."""
    try:
        body = json.loads(paths.stack_json.read_text())
    except FileNotFoundError:
        raise NoStackError(paths.state_dir) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise StackError(f"{paths.stack_json} is unreadable ({exc}): run `atctl down --purge` and `atctl up`") from exc
    values: dict[str, Any] = dict(body.get("settings", {}))
    values["state_dir"] = str(paths.state_dir)
    if secret_from is not None:
        for name in _SECRET_FIELDS:
            if getattr(secret_from, name) is not None:
                values[name] = getattr(secret_from, name)
    try:
        settings = Settings(**values)
    except ValidationError as exc:
        raise StackError(
            f"{paths.stack_json} has settings this version cannot read ({exc.error_count()} errors): "
            "run `atctl down` with the version that started it"
        ) from exc
    return StackRecord(
        settings=settings,
        programs=list(body.get("programs", [])),
        demo=bool(body.get("demo", False)),
        started_at=str(body.get("started_at", "")),
        version=str(body.get("version", "")),
    )


def record_exists(state_dir: Path) -> bool:
    return StackPaths.of(state_dir).stack_json.exists()
