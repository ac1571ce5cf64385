"""docs/settings.md lists every setting the code reads, and the config file is read as documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agentic_trading.settings import ConfigFileError, Settings, load_settings
from agentic_trading.settings_reference import OTHER_VARIABLES, env_var, render_reference

ROOT = Path(__file__).resolve().parents[2]


def test_the_reference_page_is_current():
    assert (ROOT / "docs" / "settings.md").read_text() == render_reference(), (
        "docs/settings.md is stale: python -m agentic_trading.settings_reference > docs/settings.md"
    )


def test_every_setting_and_every_variable_the_code_reads_is_documented_with_a_meaning():
    page = render_reference()
    for name in Settings.model_fields:
        row = next(line for line in page.splitlines() if line.startswith(f"| `{name}` |"))
        assert row.rstrip(" |").split("|")[-1].strip(), f"{name} has no meaning: write a comment above it in settings.py"
    read = set()
    for path in (ROOT / "src").rglob("*.py"):
        read |= set(re.findall(r"\bAT_[A-Z_]+[A-Z]\b", path.read_text()))
    documented = {env_var(name) for name in Settings.model_fields} | set(OTHER_VARIABLES)
    assert read - documented == set()


def test_the_config_file_sits_under_the_environment_and_the_options(tmp_path, monkeypatch):
    (tmp_path / "atctl.toml").write_text('port_offset = 5000\nlog_level = "debug"\nmax_position_units = 9\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AT_CONFIG", raising=False)
    monkeypatch.delenv("AT_PORT_OFFSET", raising=False)
    monkeypatch.setenv("AT_LOG_LEVEL", "warning")
    settings = load_settings(max_position_units=3)
    assert (settings.port_offset, settings.log_level, settings.max_position_units) == (5000, "warning", 3)


def test_a_broken_config_file_is_refused_naming_the_file_and_the_line_or_key(tmp_path, monkeypatch):
    config = tmp_path / "other.toml"
    monkeypatch.setenv("AT_CONFIG", str(config))
    config.write_text("port_offset = 5000\nlog_level = \n")
    with pytest.raises(ConfigFileError, match=r"other\.toml: .*line 2") as raised:
        load_settings()
    assert raised.value.exit_code == 2
    config.write_text("port_ofset = 5000\n")
    with pytest.raises(ConfigFileError, match="unknown setting 'port_ofset': did you mean port_offset"):
        load_settings()
