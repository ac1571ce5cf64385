"""Fixtures for the stack tests: settings for a throwaway stack, a stub observability module."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agentic_trading.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(state_dir=tmp_path / "state", port_offset=43000, webhook_secret="s3cret-never-on-disk")


@dataclass
class StubObservabilityFiles:
    prometheus_config: Path
    alertmanager_config: Path
    profile: str


@pytest.fixture
def stub_observability(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """Stands in for agentic_trading.stack.observability, so rendering is tested on its own."""
    module = types.ModuleType("agentic_trading.stack.observability")

    def render_observability(settings: Settings, out_dir: Path, profile: str = "fast", web: Any = None) -> Any:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "prometheus.yml").write_text("global: {}\n")
        (out_dir / "alertmanager.yml").write_text("route: {receiver: r}\nreceivers: [{name: r}]\n")
        return StubObservabilityFiles(out_dir / "prometheus.yml", out_dir / "alertmanager.yml", profile)

    def prometheus_command(settings: Settings, files: Any, data_dir: Path) -> list[str]:
        listen = f"--web.listen-address={settings.host}:{settings.port('prometheus')}"
        config = f"--config.file={files.prometheus_config}"
        return ["/usr/bin/prometheus", config, listen, f"--storage.tsdb.path={data_dir}"]

    def alertmanager_command(settings: Settings, files: Any, data_dir: Path) -> list[str]:
        return [
            "/usr/bin/prometheus-alertmanager",
            f"--config.file={files.alertmanager_config}",
            f"--web.listen-address={settings.host}:{settings.port('alertmanager')}",
            f"--storage.path={data_dir}",
        ]

    def redis_exporter_command(settings: Settings, password_file: Path | None = None) -> list[str]:
        listen = f"-web.listen-address={settings.host}:{settings.port('redis-exporter')}"
        return ["/usr/bin/prometheus-redis-exporter", listen]

    module.render_observability = render_observability  # type: ignore[attr-defined]
    module.prometheus_command = prometheus_command  # type: ignore[attr-defined]
    module.alertmanager_command = alertmanager_command  # type: ignore[attr-defined]
    module.redis_exporter_command = redis_exporter_command  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "agentic_trading.stack.observability", module)
    return module
