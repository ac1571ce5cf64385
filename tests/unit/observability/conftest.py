"""Fixtures for the observability tests: the real Prometheus tools, and doctored copies of the tree."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from _tree_copy import TreeCopy, copy_tree


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


@pytest.fixture
def tree_copy(tmp_path: Path) -> TreeCopy:
    return copy_tree(tmp_path)
