"""A tolerant screenshot comparison: live-data regions masked, the rest compared pixel by pixel.

Panels' contents (curves, values, legends, axis times) change with every run, so they are
painted over in both images before comparing; what is left is the page's structure: the
header, the variable pickers, every panel's place, size and title. Small rendering noise is
tolerated (a channel difference under ``PIXEL_TOLERANCE``, under ``MAX_CHANGED_SHARE`` of the
pixels); anything else fails with an image showing where.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageDraw

Rect = tuple[int, int, int, int]  # x, y, width, height
MASK_COLOUR = (255, 0, 255)
PIXEL_TOLERANCE = 48
MAX_CHANGED_SHARE = 0.005


@dataclass(frozen=True)
class Comparison:
    ok: bool
    changed_share: float
    message: str
    diff: Image.Image | None = None


def masked(image: Image.Image, masks: Sequence[Rect]) -> Image.Image:
    """A copy of ``image`` with every mask rectangle painted in one flat colour."""
    copy = image.convert("RGB")
    draw = ImageDraw.Draw(copy)
    for x, y, width, height in masks:
        draw.rectangle([x, y, x + width - 1, y + height - 1], fill=MASK_COLOUR)
    return copy


def compare(actual: Image.Image, baseline: Image.Image, masks: Sequence[Rect]) -> Comparison:
    """``actual`` against an already masked ``baseline``, masking ``actual`` the same way."""
    current = masked(actual, masks)
    if current.size != baseline.size:
        return Comparison(False, 1.0, f"size {current.size} differs from the baseline's {baseline.size}", current)
    difference = ImageChops.difference(current, baseline.convert("RGB")).convert("L")
    changed = difference.point(lambda value: 255 if value > PIXEL_TOLERANCE else 0)
    count = changed.histogram()[255]
    share = count / (current.width * current.height)
    if share <= MAX_CHANGED_SHARE:
        return Comparison(True, share, f"{share:.3%} of pixels differ (tolerance {MAX_CHANGED_SHARE:.1%})")
    diff = Image.blend(current, Image.new("RGB", current.size, (0, 0, 0)), 0.6)
    diff.paste((255, 40, 40), mask=changed)
    return Comparison(False, share, f"{share:.2%} of pixels differ (tolerance {MAX_CHANGED_SHARE:.1%})", diff)


def drawn_colours(image: Image.Image, rect: Rect) -> int:
    """How many distinct colours a region holds: a drawn chart has many, an empty panel one or two."""
    x, y, width, height = rect
    region = image.convert("RGB").crop((x, y, x + width, y + height))
    return len(region.getcolors(maxcolors=1 << 16) or []) or 1 << 16
