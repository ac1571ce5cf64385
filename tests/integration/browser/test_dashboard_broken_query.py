"""A broken query in a copy of agents.json: the browser test names it, and the panel shows it.

A second viewer serves the copy against the test stack's Prometheus; the same check the
state test uses must report the dashboard, the panel and the variable state, and the
screenshot must show Prometheus's error inside that panel and nowhere else.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from _dashboard_checks import TEST_RANGE, problems_in
from _live import LiveStack
from PIL import Image

from _support import eventually
from agentic_trading.dashboards.browser import Viewer
from agentic_trading.dashboards.library import default_dashboards_dir

pytestmark = pytest.mark.integration

BROKEN_PANEL = "Vetoes (5m)"
BROKEN_EXPR = 'sum by (agent_type) (increase(agent_vetoes_total{agent_type=~"$agent_type"}[5m])'  # one ) short


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def broken_copy(live: LiveStack, tmp_path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(URL of a viewer serving the broken copy, the copy's document)."""
    document = json.loads((default_dashboards_dir() / "agents.json").read_text())
    for panel in document["panels"]:
        if panel["title"] == BROKEN_PANEL:
            panel["targets"][0]["expr"] = BROKEN_EXPR
    (tmp_path / "agents.json").write_text(json.dumps(document))
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AT_")},
        **live.settings.child_environment(),
        "AT_DASHBOARDS_DIR": str(tmp_path),
        "AT_DASHBOARDS_PORT": str(port - live.settings.port_offset),
        "AT_DASHBOARDS_PASSWORD": "admin",
    }
    process = subprocess.Popen([sys.executable, "-m", "agentic_trading.dashboards"], env=env, stderr=subprocess.PIPE)
    # "localhost", not 127.0.0.1: cookies ignore ports, and this viewer's session cookie must not
    # replace the main viewer's in the shared browser.
    url = f"http://localhost:{port}"
    try:

        def healthy() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"the second viewer exited: {process.stderr.read().decode() if process.stderr else ''}")
            try:
                return httpx.get(url + "/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        eventually(healthy, timeout_s=15, what="the viewer of the broken copy")
        yield url, document
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_broken_query_fails_naming_dashboard_panel_and_state(
    viewer: Viewer, broken_copy: tuple[str, dict[str, Any]], tmp_path: Path
) -> None:
    url, document = broken_copy
    original = viewer.base_url
    viewer.base_url = url
    try:
        viewer.log_in("admin", "admin")
        view = viewer.open("agents-001", {"agent_type": ["All"]}, **TEST_RANGE)
        shot = Image.open(viewer.screenshot(tmp_path / "agents-001-broken.png")).convert("RGB")
        error_boxes = viewer.driver.execute_script(
            """return [...document.querySelectorAll('.panel-content .alert-error')].map((e) => {
                 const r = e.getBoundingClientRect();
                 return {panel: e.closest('.panel').dataset.panelTitle, text: e.textContent,
                         rect: [r.left + scrollX, r.top + scrollY, r.width, r.height].map(Math.round)};
               });"""
        )
    finally:
        viewer.base_url = original
    problems = problems_in(document, view, {"agent_type": ["All"]}, view.options)
    # The panel's error, and Chromium's console line for the 400 behind it; nothing else.
    assert problems[0].startswith(f"agents-001 / {BROKEN_PANEL!r} / agent_type=All: the panel shows an error"), problems
    assert "parse error" in problems[0], problems
    assert all("400 (Bad Request)" in p for p in problems[1:]) and len(problems) <= 2, problems

    assert [box["panel"] for box in error_boxes] == [BROKEN_PANEL], error_boxes
    panel = next(p for p in view.panels if p.title == BROKEN_PANEL)
    x, y, width, height = error_boxes[0]["rect"]
    px, py, pwidth, pheight = panel.rect
    assert px <= x and py <= y and x + width <= px + pwidth and y + height <= py + pheight, (error_boxes, panel)
    # In the screenshot the box is there, in the error colour (its red left border).
    red_border = [shot.getpixel((x + 1, y + row)) for row in range(2, max(3, height - 2))]
    assert all(r > 200 and g < 120 and b < 130 for r, g, b in red_border), red_border[:5]
