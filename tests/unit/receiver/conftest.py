"""Captured Alertmanager webhook bodies, promtool, and a receiver over a temporary store."""

from __future__ import annotations

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
