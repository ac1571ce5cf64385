"""Fixtures for the observability checks: the real Prometheus tools, or a clear failure."""

from __future__ import annotations

import shutil

import pytest


def _require(binary: str, package: str) -> str:
    path = shutil.which(binary)
    if path is None:
        pytest.fail(f"{binary} is not installed: apt-get install {package} (the checks need the real tool)")
    return path


@pytest.fixture(scope="session")
def promtool() -> str:
    return _require("promtool", "prometheus")


@pytest.fixture(scope="session")
def amtool() -> str:
    return _require("amtool", "prometheus-alertmanager")
