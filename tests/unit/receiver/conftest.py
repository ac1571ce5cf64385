"""Captured Alertmanager webhook bodies, promtool, and a receiver over a temporary store."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def webhook_body() -> Callable[[str], bytes]:
    """A webhook body Alertmanager really sent: ``firing`` or ``resolved``."""

    def load(status: str) -> bytes:
        return (FIXTURES / f"alertmanager_{status}.json").read_bytes()

    return load


@pytest.fixture
def promtool_check() -> Callable[[bytes], None]:
    """Fails the test unless ``promtool check metrics`` finds nothing wrong in an exposition."""
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail("promtool is not installed (Debian package prometheus): run scripts/bootstrap.sh")

    def check(exposition: bytes) -> None:
        result = subprocess.run([binary, "check", "metrics"], input=exposition, capture_output=True, timeout=10)
        problems = (result.stdout + result.stderr).decode().strip()
        assert result.returncode == 0 and not problems, f"promtool check metrics: {problems}"

    return check
