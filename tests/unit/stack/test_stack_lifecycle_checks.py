"""Stack.up/down refuse early, before writing or starting anything, when they cannot succeed."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from agentic_trading.settings import Settings
from agentic_trading.stack import Stack
from agentic_trading.stack import programs as programs_module
from agentic_trading.stack.errors import MissingRequirementError, NoStackError, PortInUseError, StackError


def test_up_with_a_taken_port_starts_nothing(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        stack = Stack(Settings(state_dir=tmp_path / "state", redis_port=port))
        with pytest.raises(PortInUseError, match=f"{port} \\(redis\\)"):
            stack.up(["redis"], timeout=5)
    assert not (tmp_path / "state").exists()


def test_up_without_a_module_starts_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(programs_module, "module_is_runnable", lambda module: False)
    with pytest.raises(MissingRequirementError, match="gateway"):
        Stack(Settings(state_dir=tmp_path / "state")).up(["gateway"], timeout=5)
    assert not (tmp_path / "state").exists()


def test_down_without_a_stack_is_not_an_error(tmp_path: Path) -> None:
    assert Stack(Settings(state_dir=tmp_path)).down() is False


def test_status_without_a_stack_says_how_to_start_one(tmp_path: Path) -> None:
    with pytest.raises(NoStackError) as error:
        Stack(Settings(state_dir=tmp_path)).status()
    assert error.value.exit_code == 2


def test_attach_needs_a_recorded_stack(tmp_path: Path) -> None:
    with pytest.raises(NoStackError):
        Stack.attach(tmp_path)


def test_purge_refuses_a_directory_that_is_not_a_stack(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(StackError, match="not deleting"):
        Stack(Settings(state_dir=tmp_path)).down(purge=True)
    assert (tmp_path / "precious.txt").exists()


def test_purge_deletes_a_stopped_stack_dir(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "stack.json").write_text("{}")
    Stack(Settings(state_dir=state)).down(purge=True)
    assert not state.exists()
