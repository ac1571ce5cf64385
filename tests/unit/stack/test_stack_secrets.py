"""A stack's secrets: one 0600 file each in a 0700 directory, generated once, never echoed."""

from __future__ import annotations

import stat

import pytest

from agentic_trading.stack.paths import StackPaths
from agentic_trading.stack.secrets import ensure_secret, read_secret, remove_secret, secret_path, write_secret


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_written_secret_is_readable_by_its_owner_alone(tmp_path):
    paths = StackPaths.of(tmp_path / "state")
    path = write_secret(paths, "webhook_secret", "s3cret")
    assert read_secret(paths, "webhook_secret") == "s3cret"
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["webhook_secret"]  # no temporary file left


def test_a_generated_secret_is_generated_once_and_kept(tmp_path):
    paths = StackPaths.of(tmp_path)
    first = ensure_secret(paths, "redis-gateway")
    assert len(first) >= 32
    assert ensure_secret(paths, "redis-gateway") == first
    assert ensure_secret(paths, "redis-orchestrator") != first


def test_an_absent_secret_is_none_and_removing_it_twice_is_fine(tmp_path):
    paths = StackPaths.of(tmp_path)
    assert read_secret(paths, "nats-gateway") is None
    write_secret(paths, "nats-gateway", "x")
    remove_secret(paths, "nats-gateway")
    remove_secret(paths, "nats-gateway")
    assert read_secret(paths, "nats-gateway") is None


@pytest.mark.parametrize("name", ["", "../escape", "Upper", "a/b"])
def test_a_name_that_is_not_a_plain_file_name_is_refused(tmp_path, name):
    with pytest.raises(ValueError):
        secret_path(StackPaths.of(tmp_path), name)
