"""atctl as a user meets it: help, one-line errors with exit codes, trace and logs output."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from agentic_trading.cli.common import format_uptime
from agentic_trading.cli.main import app
from agentic_trading.settings import Settings
from agentic_trading.stack import programs as programs_module
from agentic_trading.stack.errors import MissingRequirementError
from agentic_trading.stack.paths import StackPaths
from agentic_trading.stack.state import StackRecord, save_record

runner = CliRunner()
CID = "corr-cli"


def _record(ts: str, service: str, event: str, **fields: object) -> str:
    return json.dumps(
        {
            "ts": ts,
            "level": "info",
            "event": event,
            "service": service,
            "correlation_id": CID,
            "signal_id": "sig_9",
            **fields,
        }
    )


@pytest.fixture
def state_with_logs(tmp_path: Path) -> Path:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "gateway.log").write_text(
        "uvicorn says hello\n" + _record("2026-01-01T10:00:00.1Z", "gateway", "signal_accepted") + "\n"
    )
    (logs / "orchestrator.log").write_text(
        _record("2026-01-01T10:00:00.3Z", "orchestrator", "decision_published", decision="approve") + "\n"
    )
    return tmp_path


def test_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("up", "down", "status", "logs", "stop", "start", "restart", "kill", "pause", "resume", "trace"):
        assert command in result.output


def test_status_without_a_stack_exits_2_with_one_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["status", "--state-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "No stack in" in result.output
    assert "atctl up" in result.output
    assert "Traceback" not in result.output


def test_global_options_work_before_the_command(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--state-dir", str(tmp_path), "kill", "redis"])
    assert result.exit_code == 2
    assert str(tmp_path) in result.output


def test_debug_shows_the_exception(tmp_path: Path) -> None:
    result = runner.invoke(app, ["status", "--state-dir", str(tmp_path), "--debug"])
    assert result.exit_code != 0
    assert result.exception is not None and "No stack" in str(result.exception)


def test_down_without_a_stack_is_fine(tmp_path: Path) -> None:
    result = runner.invoke(app, ["down", "--state-dir", str(tmp_path)])
    assert result.exit_code == 0
    assert "No stack running" in result.output


def test_up_demo_without_the_traffic_module_fails_before_starting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(programs_module, "module_is_runnable", lambda module: module != "agentic_trading.load")
    state = tmp_path / "state"
    result = runner.invoke(app, ["up", "--demo", "--state-dir", str(state), "--port-offset", "43000"])
    assert result.exit_code == 1
    assert "--demo needs traffic" in result.output
    assert not state.exists()


def test_up_debug_raises_the_requirement_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(programs_module, "module_is_runnable", lambda module: False)
    result = runner.invoke(app, ["up", "--only", "gateway", "--state-dir", str(tmp_path / "s"), "--debug"])
    assert isinstance(result.exception, MissingRequirementError)


@pytest.fixture
def recorded_stack(tmp_path: Path) -> Path:
    """A stack.json whose Redis is not running, and recent logs: trace falls back to the logs."""
    state = tmp_path / "state"
    paths = StackPaths.of(state)
    paths.create()
    save_record(paths, StackRecord(Settings(state_dir=state, port_offset=45000), ["gateway", "orchestrator"]))
    now = time.time()
    (paths.log_dir / "gateway.log").write_text(
        "uvicorn says hello\n" + _record(_iso(now - 0.2), "gateway", "signal_accepted") + "\n"
    )
    (paths.log_dir / "orchestrator.log").write_text(
        _record(_iso(now), "orchestrator", "decision_published", decision="approve", decided_at=now) + "\n"
    )
    return state


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def test_trace_prints_the_events_and_the_decision_even_with_redis_down(recorded_stack: Path) -> None:
    for ident in (CID, "sig_9"):
        result = runner.invoke(app, ["trace", ident, "--state-dir", str(recorded_stack), "--timeout", "0"])
        assert result.exit_code == 0, result.output
        assert "Redis did not answer" in result.output
        assert result.output.index("gateway signal_accepted") < result.output.index("orchestrator decision_published")
        assert "decision=approve decided_at=20" in result.output  # ISO 8601, not an epoch


def test_trace_json(recorded_stack: Path) -> None:
    args = ["trace", CID, "--state-dir", str(recorded_stack), "--timeout", "0", "--format", "json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0
    body = json.loads(result.stdout)
    assert [e["event"] for e in body["events"]] == ["signal_accepted", "decision_published"]
    assert body["decision"]["decision"] == "approve" and body["signal_id"] == "sig_9"


def test_trace_of_an_unknown_id_exits_2_and_without_a_stack_too(recorded_stack: Path, tmp_path: Path) -> None:
    unknown = runner.invoke(app, ["trace", "unknown-id", "--state-dir", str(recorded_stack), "--timeout", "5"])
    assert unknown.exit_code == 2
    assert "No signal with id 'unknown-id'" in unknown.output
    assert runner.invoke(app, ["trace", CID, "--state-dir", str(tmp_path / "none")]).exit_code == 2


def test_logs_interleave_services_pretty_by_default(state_with_logs: Path) -> None:
    result = runner.invoke(app, ["logs", "--state-dir", str(state_with_logs), "-n", "10"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].startswith("gateway") and "uvicorn says hello" in lines[0]
    assert lines[-2].startswith("2026-01-01T10:00:00.300Z info    orchestrator decision_published")
    assert lines[-1].strip().startswith("correlation_id=corr-cli") and "decision=approve" in lines[-1]


def test_logs_of_one_service_as_json(state_with_logs: Path) -> None:
    result = runner.invoke(app, ["logs", "gateway", "--state-dir", str(state_with_logs), "-n", "1", "--format", "json"])
    assert result.exit_code == 0
    assert json.loads(result.output)["event"] == "signal_accepted"


def test_logs_filter_by_level_service_and_since(state_with_logs: Path) -> None:
    gateway = state_with_logs / "logs" / "gateway.log"
    gateway.write_text(
        gateway.read_text() + _record("2026-01-01T10:00:01Z", "gateway", "publish_failed").replace('"info"', '"error"') + "\n"
    )
    args = ["logs", "--state-dir", str(state_with_logs), "--format", "json"]
    errors = runner.invoke(app, [*args, "--level", "warning"])
    assert [json.loads(line)["event"] for line in errors.output.splitlines()] == ["publish_failed"]
    orchestrator = runner.invoke(app, [*args, "--service", "orchestrator"])
    assert [json.loads(line)["event"] for line in orchestrator.output.splitlines()] == ["decision_published"]
    since = runner.invoke(app, [*args, "--since", "2026-01-01T10:00:00.2Z"])
    assert [json.loads(line)["event"] for line in since.output.splitlines()] == ["decision_published", "publish_failed"]
    bad = runner.invoke(app, [*args, "--since", "yesterday"])
    assert bad.exit_code == 2 and "90s, 10m" in bad.output


def test_logs_of_an_unknown_service_name_the_known_ones(state_with_logs: Path) -> None:
    result = runner.invoke(app, ["logs", "nope", "--state-dir", str(state_with_logs)])
    assert result.exit_code == 2
    assert "gateway, orchestrator" in result.output


@pytest.mark.parametrize(("seconds", "text"), [(None, "-"), (5, "5s"), (125, "2m05s"), (7260, "2h01m"), (90000, "1d01h")])
def test_uptime_is_short(seconds: int | None, text: str) -> None:
    assert format_uptime(seconds) == text


def _every_command() -> list[str]:
    """Every command and sub-command of atctl, as the words that name it (``generate burst``)."""
    root = typer.main.get_command(app)
    names = []
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        names.append(name)
        names.extend(f"{name} {sub}" for sub in getattr(command, "commands", {}))
    return names


def test_every_command_is_checked_for_help() -> None:
    assert {"up", "load", "generate", "generate burst", "verify", "health", "lint"} <= set(_every_command())


@pytest.mark.parametrize("command", _every_command())
def test_help_has_an_example_and_fits_80_columns(command: str) -> None:
    result = runner.invoke(app, [*command.split(), "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    assert re.search(r"^ *Examples?:", result.output, re.MULTILINE) and f"atctl {command}" in result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80


@pytest.mark.parametrize(
    "command", ["status", "summary", "trace", "logs", "load", "generate normal", "lint", "verify", "chaos run", "scenario"]
)
def test_every_format_option_offers_text_and_json(command: str) -> None:
    result = runner.invoke(app, [*command.split(), "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert re.search(r"--format\s+<text\|json(\|junit)?(\|markdown)?>", result.output), result.output


def test_old_format_words_are_still_accepted(tmp_path: Path) -> None:
    for command, old in (("status", "table"), ("logs", "pretty")):
        result = runner.invoke(app, [command, "--format", old, "--state-dir", str(tmp_path)])
        assert "Invalid value for '--format'" not in result.output, result.output
    bad = runner.invoke(app, ["status", "--format", "yaml", "--state-dir", str(tmp_path)])
    assert bad.exit_code == 2 and "Invalid value for '--format'" in bad.output
