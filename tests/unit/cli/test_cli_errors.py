"""One error report for every atctl command: a known error is one red line and its exit code.

Every command reaches the settings (``settings_from``); making them raise an error of our
own, with an exit code no command uses on its own (3), shows that the report comes from
the one place in ``cli/common.py`` and honours the error's ``exit_code``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.core import TyperGroup
from typer.testing import CliRunner

from agentic_trading.cli import common
from agentic_trading.cli import lint as lint_command
from agentic_trading.cli import load as load_command
from agentic_trading.cli.main import app
from agentic_trading.errors import AgenticTradingError

runner = CliRunner()

# Arguments that get each command as far as reading the settings.
INVOCATIONS = {
    "up": ["up"],
    "down": ["down"],
    "status": ["status"],
    "stop": ["stop", "gateway"],
    "start": ["start", "gateway"],
    "restart": ["restart", "gateway"],
    "kill": ["kill", "gateway"],
    "pause": ["pause", "gateway"],
    "resume": ["resume", "gateway"],
    "logs": ["logs"],
    "trace": ["trace", "corr-1"],
    "summary": ["summary"],
    "lint": ["lint"],
    "load": ["load"],
    "verify": ["verify"],
    "health": ["health"],
    "generate normal": ["generate", "normal"],
    "generate errors": ["generate", "errors"],
    "generate burst": ["generate", "burst"],
    "alerts silence": ["alerts", "silence", "AgentDown", "--comment", "planned"],
    "dashboards screenshot": ["dashboards", "screenshot"],
    "chaos run": ["chaos", "run", "gateway-down"],
    "scenario": ["scenario", "signal-flow"],
}
# Commands that never read the settings (no stack involved): they cannot fail this way.
WITHOUT_SETTINGS = {
    "chaos list": "lists the experiment files of the repository",
    "chaos table": "renders a JSON report file",
}


class DeliberateError(AgenticTradingError):
    exit_code = 3


def _leaf_commands(group: TyperGroup, prefix: str = "") -> set[str]:
    names = set()
    for name, command in group.commands.items():
        if isinstance(command, TyperGroup):
            names |= _leaf_commands(command, f"{prefix}{name} ")
        else:
            names.add(prefix + name)
    return names


@pytest.fixture
def settings_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*_: object, **__: object) -> None:
        raise DeliberateError("the settings are broken on purpose: fix them")

    monkeypatch.setattr(common, "load_settings", fail)
    # `atctl lint` reads no settings, only the observability tree.
    monkeypatch.setattr(lint_command, "load_tree", fail)


def test_every_command_is_covered() -> None:
    assert _leaf_commands(typer.main.get_group(app)) == set(INVOCATIONS) | set(WITHOUT_SETTINGS)


def test_commands_without_settings_work_when_the_settings_are_broken(settings_fail: None, tmp_path: Path) -> None:
    report = tmp_path / "chaos.json"
    report.write_text('{"experiments": []}')
    arguments = {"chaos table": [str(report)]}
    for command in WITHOUT_SETTINGS:
        result = runner.invoke(app, [*command.split(), *arguments.get(command, [])])
        assert result.exit_code == 0, result.output


@pytest.mark.parametrize("command", sorted(INVOCATIONS))
def test_a_known_error_is_one_red_line_and_its_exit_code(command: str, settings_fail: None) -> None:
    result = runner.invoke(app, INVOCATIONS[command])
    assert result.exit_code == 3, result.output
    assert result.stderr.splitlines() == ["error: the settings are broken on purpose: fix them"]
    assert result.stdout == ""
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", sorted(INVOCATIONS))
def test_debug_after_the_command_lets_the_error_through(command: str, settings_fail: None) -> None:
    result = runner.invoke(app, [*INVOCATIONS[command], "--debug"])
    assert isinstance(result.exception, DeliberateError)
    assert "error:" not in result.stderr


def test_debug_before_the_command_lets_the_error_through(settings_fail: None) -> None:
    result = runner.invoke(app, ["--debug", "status"])
    assert isinstance(result.exception, DeliberateError)


def test_an_interrupted_load_run_exits_130_without_a_report(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(load_command, "run", interrupted)
    result = runner.invoke(app, ["load", "--url", "http://127.0.0.1:9/webhook/tradingview", "--rate", "10"])
    assert result.exit_code == 130
    assert result.stderr.splitlines() == ["error: interrupted: no report for a run cut short"]
    assert result.stdout == ""


def test_the_installed_atctl_prints_the_traceback_with_debug(tmp_path: Path) -> None:
    atctl = Path(sys.executable).parent / "atctl"
    debug = subprocess.run([atctl, "--debug", "status", "--state-dir", tmp_path], capture_output=True, text=True, timeout=60)
    assert debug.returncode == 1
    assert "Traceback (most recent call last)" in debug.stderr
    assert debug.stderr.rstrip().splitlines()[-1].startswith("agentic_trading.stack.errors.NoStackError: No stack in")
