"""Each dashboard's screenshot against its committed baseline, live-data regions masked.

The baselines (``baselines/<uid>.png``) are stored already masked: the page's structure,
header, variable pickers, every panel's place, size and title. Inside the masks each panel
that reports data must have drawn something (many colours, not a blank panel). A failure
writes ``.browser-failures/<uid>.png`` (what the page showed) and ``<uid>.diff.png`` (the
differing pixels in red) at the repository's root. After an intended change of layout:
``AT_UPDATE_BASELINES=1 pytest tests/integration/browser/test_dashboard_screenshots.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from _dashboard_checks import TEST_RANGE
from _image_diff import compare, drawn_colours, masked
from PIL import Image

from agentic_trading.dashboards.browser import Viewer
from agentic_trading.dashboards.library import default_dashboards_dir, read_dashboards

pytestmark = pytest.mark.integration

BASELINES = Path(__file__).parent / "baselines"
FAILURES = Path(__file__).resolve().parents[3] / ".browser-failures"
# A drawn chart or a coloured stat has hundreds of colours; an empty panel a handful.
MIN_DRAWN_COLOURS = 20


@pytest.mark.parametrize("uid", list(read_dashboards(default_dashboards_dir())))
def test_screenshot_matches_baseline(viewer: Viewer, uid: str, tmp_path: Path) -> None:
    view = viewer.open(uid, **TEST_RANGE)
    shot = Image.open(viewer.screenshot(tmp_path / f"{uid}.png"))
    masks = viewer.masks()
    for panel, mask in zip(view.panels, masks, strict=True):
        if panel.state == "data":
            colours = drawn_colours(shot, mask)
            assert colours >= MIN_DRAWN_COLOURS, f"{uid} / {panel.title!r}: reports data but drew {colours} colours"
    baseline_path = BASELINES / f"{uid}.png"
    if os.environ.get("AT_UPDATE_BASELINES") == "1":
        masked(shot, masks).save(baseline_path, optimize=True)
        pytest.skip(f"baseline written: {baseline_path} (look at it, then commit it)")
    assert baseline_path.exists(), f"no baseline {baseline_path}: write it with AT_UPDATE_BASELINES=1"
    result = compare(shot, Image.open(baseline_path), masks)
    if not result.ok:
        FAILURES.mkdir(exist_ok=True)
        shot.save(FAILURES / f"{uid}.png")
        if result.diff is not None:
            result.diff.save(FAILURES / f"{uid}.diff.png")
    assert result.ok, f"{uid}: {result.message}; see {FAILURES / f'{uid}.diff.png'}"
