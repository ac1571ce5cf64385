"""stack.json: later commands find the stack's ports from the state dir alone; no secret inside."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentic_trading.settings import Settings
from agentic_trading.stack.errors import NoStackError
from agentic_trading.stack.paths import StackPaths
from agentic_trading.stack.state import StackRecord, load_record, replace_settings, save_record


def test_record_round_trip_keeps_ports_and_drops_the_secret(settings: Settings) -> None:
    paths = StackPaths.of(settings.state_dir)
    paths.create()
    save_record(paths, StackRecord(settings, ["nats", "redis"], demo=True))
    assert "s3cret" not in paths.stack_json.read_text()
    record = load_record(paths)
    assert record.programs == ["nats", "redis"]
    assert record.demo
    assert record.settings.port("nats") == 47222
    assert record.settings.state_dir == paths.state_dir


def test_the_secret_comes_from_the_caller_not_the_file(settings: Settings) -> None:
    paths = StackPaths.of(settings.state_dir)
    paths.create()
    save_record(paths, StackRecord(settings, []))
    record = load_record(paths, secret_from=settings)
    assert record.settings.webhook_secret is not None
    assert record.settings.webhook_secret.get_secret_value() == "s3cret-never-on-disk"


def test_no_record_means_no_stack(tmp_path: Path) -> None:
    with pytest.raises(NoStackError, match="atctl up"):
        load_record(StackPaths.of(tmp_path))


def test_differences_name_the_port_offset(settings: Settings) -> None:
    record = StackRecord(settings, [])
    assert record.differences(settings) == []
    assert record.differences(replace_settings(settings, port_offset=1000)) == ["port offset 43000 (running) vs 1000"]


def test_replace_settings_recomputes_urls(settings: Settings) -> None:
    assert settings.nats_url.endswith(":47222")
    assert replace_settings(settings, port_offset=0).nats_url.endswith(":4222")
