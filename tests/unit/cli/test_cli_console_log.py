"""atctl's log lines: on stderr, warnings and above unless --debug, never in a command's stdout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import structlog
from typer.testing import CliRunner

from agentic_trading.alerts import shutdown
from agentic_trading.cli import logs as logs_command
from agentic_trading.cli.main import app
from agentic_trading.stack import Stack

runner = CliRunner()


def _down_that_logs(self: Stack, **kwargs: Any) -> bool:
    """Stack.down's log lines without a stack: the debug line that used to land in stdout, and a warning."""
    shutdown.log.debug("alerts_resolved_at_shutdown", ended=0, resolved_at_receiver=0)
    shutdown.log.warning("alerts_not_resolved_at_shutdown", error="no receiver")
    return True


@pytest.fixture
def logging_down(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Stack, "down", _down_that_logs)


def test_down_prints_only_its_own_lines_on_stdout_and_the_warning_on_stderr(logging_down: None, tmp_path: Path) -> None:
    result = runner.invoke(app, ["down", "--state-dir", str(tmp_path)], env={"COLUMNS": "300"})  # the path on one line
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"Stopped the stack in {tmp_path}.",
        "Data kept; `atctl down --purge` deletes it.",
    ]
    assert "[warning] alerts_not_resolved_at_shutdown error='no receiver'" in result.stderr
    assert "alerts_resolved_at_shutdown" not in result.stderr  # a debug line: only with --debug


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_shows_debug_lines_on_stderr(logging_down: None, tmp_path: Path, where: str) -> None:
    args = ["down", "--state-dir", str(tmp_path)]
    result = runner.invoke(app, ["--debug", *args] if where == "before" else [*args, "--debug"])
    assert result.exit_code == 0, result.output
    assert "[debug] alerts_resolved_at_shutdown ended=0 resolved_at_receiver=0" in result.stderr
    assert "alerts_resolved_at_shutdown" not in result.stdout


def test_a_json_report_parses_even_when_a_debug_line_is_logged(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    record = {"ts": "2026-01-01T10:00:00.1Z", "level": "info", "event": "signal_accepted", "service": "gateway"}
    (tmp_path / "logs" / "gateway.log").write_text(json.dumps(record) + "\n")
    real = logs_command.log_files

    def log_files_that_log(*args: Any, **kwargs: Any) -> Any:
        shutdown.log.debug("a_library_says", detail="something")
        return real(*args, **kwargs)

    monkeypatch.setattr(logs_command, "log_files", log_files_that_log)
    result = runner.invoke(app, ["--debug", "logs", "gateway", "--state-dir", str(tmp_path), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["event"] for line in result.stdout.splitlines()] == ["signal_accepted"]
    assert "[debug] a_library_says detail=something" in result.stderr


def test_a_command_leaves_structlog_as_it_found_it(logging_down: None, tmp_path: Path) -> None:
    before = structlog.get_config()
    assert runner.invoke(app, ["--debug", "down", "--state-dir", str(tmp_path)]).exit_code == 0
    assert structlog.get_config() == before  # other tests in this process capture or configure it themselves
