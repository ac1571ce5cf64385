"""``atctl dashboards screenshot`` against the test stack: a whole-page PNG per dashboard asked for."""

from __future__ import annotations

from pathlib import Path

import pytest
from _live import LiveStack
from PIL import Image
from typer.testing import CliRunner

from agentic_trading.cli.main import app

pytestmark = pytest.mark.integration


def test_screenshot_writes_whole_page_pngs(live: LiveStack, dashboard_traffic: None, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("AT_DASHBOARDS_PASSWORD", "admin")
    state_dir = str(live.settings.state_dir)
    args = ["dashboards", "screenshot", "--state-dir", state_dir, "--output", str(tmp_path), "--from", "now-5m"]
    result = CliRunner().invoke(app, [*args, "--uid", "gateway-001", "--uid", "infrastructure-001"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gateway-001.png", "infrastructure-001.png"]
    assert "gateway-001 -> " in result.stdout and "(10 data)" in result.stdout
    # Whole page: infrastructure-001 is taller than the 1000-pixel window.
    assert Image.open(tmp_path / "infrastructure-001.png").size[1] > 1000


def test_screenshot_with_the_wrong_password_says_so(live: LiveStack, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("AT_DASHBOARDS_PASSWORD", "not-the-password")
    args = ["dashboards", "screenshot", "--state-dir", str(live.settings.state_dir), "--output", str(tmp_path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "refused user 'admin'" in result.stderr
