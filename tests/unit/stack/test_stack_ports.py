"""Port checks before start: a taken port is named with its holder and a way out."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

from _support import free_port
from agentic_trading.settings import Settings
from agentic_trading.stack.errors import PortInUseError
from agentic_trading.stack.ports import find_free_port_offset, find_port_conflicts, port_is_free
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


def test_large_offsets_are_flagged_as_in_the_ephemeral_range(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from agentic_trading.stack.ports import ephemeral_port_range, ports_in_ephemeral_range

    low, _ = ephemeral_port_range()
    programs = select_programs(["nats", "redis"])
    assert ports_in_ephemeral_range(Settings(state_dir=tmp_path, port_offset=0), programs) == []
    risky = ports_in_ephemeral_range(Settings(state_dir=tmp_path, port_offset=low), programs)
    assert risky == sorted([low + 4222, low + 8222, low + 6379])
