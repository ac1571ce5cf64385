"""observability/metrics.yaml as typed data: the single list of metrics every check and lint reads.

Besides type, labels and source, an entry may say

* ``range: [min, max]``: every sample must lie in it (``null`` = unbounded on that side),
  e.g. ``[0, 1]`` for a confidence, ``[0, null]`` for a counter;
* ``conditional: <when>``: the metric has series only after some event (the first
  refused secret, the first deadline decision); collection does not expect series;
* ``unused: <why>``: no alert, recording rule or panel selects it, and why that is fine.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentic_trading.observability.errors import ObservabilityError
from agentic_trading.observability.source import Location, line_of, read_yaml

METRIC_TYPES = ("counter", "gauge", "histogram", "info")
ENTRY_KEYS = frozenset({"type", "labels", "source", "help", "contract", "range", "conditional", "unused"})
HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")


@dataclass(frozen=True)
class MetricSpec:
    name: str
    type: str
    labels: tuple[str, ...]
    sources: tuple[str, ...]
    help: str
    contract: bool = False
    range: tuple[float, float] | None = None
    conditional: str | None = None
    location: Location | None = None
    unused: str | None = None  # why no rule or panel selects it (the lint accepts it then)

    @property
    def series_names(self) -> tuple[str, ...]:
        """The names Prometheus stores for this metric (a histogram's three series)."""
        if self.type == "histogram":
            return tuple(self.name + suffix for suffix in HISTOGRAM_SUFFIXES)
        return (self.name,)

    @property
    def selector(self) -> str:
        """The PromQL that has a series for every instance of the metric."""
        return self.name + "_bucket" if self.type == "histogram" else self.name

    def describe_range(self) -> str:
        if self.range is None:
            return "any value"
        low, high = self.range
        return f"[{_bound(low)}, {_bound(high)}]"

    def in_range(self, value: float) -> bool:
        """True when ``value`` lies in the catalog range (NaN never does)."""
        if self.range is None:
            return True
        low, high = self.range
        return not math.isnan(value) and low <= value <= high


def _bound(value: float) -> str:
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return f"{value:g}"


@dataclass(frozen=True)
class Catalog:
    path: Path
    metrics: dict[str, MetricSpec]

    def __iter__(self):
        return iter(self.metrics.values())

    def __contains__(self, name: object) -> bool:
        return name in self.metrics

    def known_series(self, extra: Iterable[str] = ()) -> frozenset[str]:
        """Every series name a query may select: the catalog's (with histogram suffixes) and ``extra``."""
        names = {series for spec in self for series in spec.series_names}
        return frozenset(names | set(extra))

    def of_type(self, kind: str) -> list[MetricSpec]:
        return [spec for spec in self if spec.type == kind]

    def expected(self) -> list[MetricSpec]:
        """Metrics that must have series on any running deployment."""
        return [spec for spec in self if spec.conditional is None]

    def ranged(self) -> list[MetricSpec]:
        return [spec for spec in self if spec.range is not None]

    def owner_of(self, series: str) -> MetricSpec | None:
        """The entry a stored series belongs to (``x_bucket`` -> histogram ``x``)."""
        for spec in self:
            if series in spec.series_names:
                return spec
        return None


def load_catalog(path: Path) -> Catalog:
    """Read and validate a catalog; every problem names the file, the line, the entry and the fix."""
    document = read_yaml(Path(path), what="metric catalog")
    entries = document.get("metrics")
    if not isinstance(entries, dict) or not entries:
        raise ObservabilityError(f"{path}: expected a top-level `metrics:` mapping of metric name to entry")
    metrics = {}
    for name, entry in entries.items():
        where = Location(Path(path), entries.key_line(str(name)))
        metrics[str(name)] = parse_entry(str(name), entry, where)
    return Catalog(path=Path(path), metrics=metrics)


def parse_entry(name: str, entry: Any, path: Location | Path | str = "metrics.yaml") -> MetricSpec:
    location = path if isinstance(path, Location) else Location(Path(path), line_of(entry))
    where = f"{location}: {name}"
    if not isinstance(entry, dict):
        raise ObservabilityError(f"{where}: expected a mapping with type, labels, source, help")
    unknown = sorted(str(key) for key in set(entry) - ENTRY_KEYS)
    if unknown:
        raise ObservabilityError(
            f"{where}: unknown keys {unknown} (a comma in an unquoted help text splits it: quote the text); "
            f"known: {', '.join(sorted(ENTRY_KEYS))}"
        )
    kind = entry.get("type")
    if kind not in METRIC_TYPES:
        raise ObservabilityError(f"{where}: type {kind!r} is not one of {', '.join(METRIC_TYPES)}")
    labels = entry.get("labels") or []
    if not isinstance(labels, list):
        raise ObservabilityError(f"{where}: labels must be a list")
    source = entry.get("source") or []
    sources = tuple(source) if isinstance(source, list) else (str(source),)
    conditional = entry.get("conditional")
    if conditional is not None and (not isinstance(conditional, str) or not conditional.strip()):
        raise ObservabilityError(f"{where}: conditional must say when the series appear, e.g. 'after the first refusal'")
    return MetricSpec(
        name=name,
        type=kind,
        labels=tuple(str(label) for label in labels),
        sources=sources,
        help=str(entry.get("help") or ""),
        contract=bool(entry.get("contract", False)),
        range=parse_range(entry.get("range"), where),
        conditional=conditional,
        location=location,
        unused=str(entry["unused"]) if entry.get("unused") else None,
    )


def parse_range(value: Any, where: str = "range") -> tuple[float, float] | None:
    """``[min, max]`` with numbers or ``null`` (unbounded) -> ``(min, max)`` floats."""
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 2:
        raise ObservabilityError(f"{where}: range must be [min, max] (null for no bound), got {value!r}")
    bounds = []
    for bound, infinite in zip(value, (-math.inf, math.inf), strict=True):
        if bound is None:
            bounds.append(infinite)
        elif isinstance(bound, int | float) and not isinstance(bound, bool):
            bounds.append(float(bound))
        else:
            raise ObservabilityError(f"{where}: range bounds must be numbers or null, got {bound!r}")
    low, high = bounds
    if low > high:
        raise ObservabilityError(f"{where}: range [{low:g}, {high:g}] has min above max")
    return low, high
