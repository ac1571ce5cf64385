"""docs/metrics.md, generated from the metric catalog (``atctl verify --write-metric-docs``).

The catalog is the single source; this page is its readable form, one table per source.
A unit test fails when the page and the catalog disagree.
"""

from __future__ import annotations

from pathlib import Path

from agentic_trading.observability import default_root
from agentic_trading.observability.catalog import Catalog, MetricSpec

DEFAULT_DOCS_PATH = default_root().parent / "docs" / "metrics.md"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _row(spec: MetricSpec) -> str:
    name = f"`{spec.name}`" + (" ★" if spec.contract else "")
    labels = ", ".join(f"`{label}`" for label in spec.labels) or "–"
    valid = spec.describe_range() if spec.range else "–"
    meaning = spec.help + (f" *Only {spec.conditional}.*" if spec.conditional else "")
    return f"| {name} | {spec.type} | {labels} | {valid} | {_cell(meaning)} |"


def render_metric_docs(catalog: Catalog, catalog_label: str = "observability/metrics.yaml") -> str:
    by_source: dict[str, list[MetricSpec]] = {}
    for spec in catalog:
        by_source.setdefault(", ".join(spec.sources), []).append(spec)
    lines = [
        "# Metric reference",
        "",
        f"Generated from [`{catalog_label}`](../{catalog_label}) by `atctl verify --write-metric-docs`:",
        "edit the catalog and regenerate, not this page. ★ marks the names the specification fixes",
        '(ARCHITECTURE.md, "Metric contract"). *Range* is what `atctl verify --category accuracy`',
        "holds every sample to; a metric marked *only …* has series only after that event.",
        "",
        f"{len(catalog.metrics)} metrics. Histograms are listed by base name: their `_bucket`, `_count` and `_sum`",
        "series follow. Every series also carries the `job`, `instance` and `service` labels of its scrape target.",
    ]
    for source, specs in by_source.items():
        lines += ["", f"## {source}", "", "| metric | type | labels | range | meaning |", "|---|---|---|---|---|"]
        lines += [_row(spec) for spec in specs]
    return "\n".join(lines) + "\n"


def write_metric_docs(catalog: Catalog, path: Path = DEFAULT_DOCS_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_metric_docs(catalog))
    return path
