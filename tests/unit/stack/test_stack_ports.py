"""Port checks before start: a taken port is named with its holder and a way out."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

from _support import free_port
from agentic_trading.settings import Settings
from agentic_trading.stack import Stack
from agentic_trading.stack.errors import PortInUseError, PortOffsetError
from agentic_trading.stack.ports import (
    find_free_port_offset,
    find_port_conflicts,
    port_is_free,
    port_offset_problems,
    safe_port_offset_near,
)
from agentic_trading.stack.programs import select_programs


@pytest.fixture
def listening() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_a_listening_port_is_not_free(listening: int) -> None:
    assert not port_is_free("127.0.0.1", listening)


def test_a_closed_port_is_free() -> None:
    assert port_is_free("127.0.0.1", free_port())


def test_conflict_names_port_component_and_holder(listening: int, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(state_dir=tmp_path, redis_port=listening)
    conflicts = find_port_conflicts(settings, select_programs(["redis"]))
    assert conflicts == [f"{listening} (redis) is held by pid {os.getpid()} ({_process_name()})"]


def test_ports_of_programs_we_already_run_are_ignored(listening: int, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(state_dir=tmp_path, redis_port=listening)
    assert find_port_conflicts(settings, select_programs(["redis"]), ignore=["redis"]) == []


def test_free_offset_skips_offsets_with_a_taken_port(listening: int, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(state_dir=tmp_path, redis_port=listening - 100)
    offset = find_free_port_offset(settings, select_programs(["redis"]), candidates=[100, 200])
    assert offset == 200


def test_error_message_suggests_port_offset() -> None:
    message = str(PortInUseError(["4222 (nats) is taken"], 0, suggested_offset=20000))
    assert "4222 (nats) is taken" in message
    assert "--port-offset 20000" in message


def _process_name() -> str:
    import psutil

    return psutil.Process().name()


def test_offset_4000_collides_with_a_default_stack_and_a_safe_one_is_suggested(tmp_path) -> None:  # type: ignore[no-untyped-def]
    problems = port_offset_problems(Settings(state_dir=tmp_path, port_offset=4000), ephemeral_low=32768)
    assert problems == ["nats would listen on 8222, the port of nats-monitor in a stack at offset 0"]
    assert safe_port_offset_near(Settings(state_dir=tmp_path, port_offset=4000), ephemeral_low=32768) in (3000, 5000)


@pytest.mark.parametrize("offset", [0, 1000, 5000, 21500, 23000])
def test_usual_offsets_are_safe(tmp_path, offset) -> None:  # type: ignore[no-untyped-def]
    assert port_offset_problems(Settings(state_dir=tmp_path, port_offset=offset), ephemeral_low=32768) == []


def test_an_offset_reaching_the_ephemeral_range_is_refused_naming_the_largest_safe_one(tmp_path) -> None:  # type: ignore[no-untyped-def]
    [problem] = port_offset_problems(Settings(state_dir=tmp_path, port_offset=50000), ephemeral_low=32768)
    assert "process-exporter would listen on 59256" in problem and "at most 23511" in problem


def test_every_offset_the_check_accepts_keeps_every_port_off_every_default_port(tmp_path) -> None:  # type: ignore[no-untyped-def]
    default = Settings(state_dir=tmp_path)
    base_ports = {default.port(c) for c in default.components}
    differences = {a - b for a in base_ports for b in base_ports if a > b}  # the offsets that could collide
    for offset in sorted(differences | set(range(100, 23512, 100))):
        settings = default.model_copy(update={"port_offset": offset})  # cheap: no environment read
        if not port_offset_problems(settings, ephemeral_low=32768):
            assert not {settings.port(c) for c in settings.components} & base_ports, offset


def test_up_refuses_an_unsafe_offset_before_writing_anything(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PortOffsetError, match="try --port-offset") as raised:
        Stack(Settings(state_dir=tmp_path / "state", port_offset=4000)).up(["nats"], timeout=5)
    assert raised.value.exit_code == 2 and not (tmp_path / "state").exists()
