"""What a load run measured, how runs from several workers add up, and how it is shown.

:class:`LoadResult` is filled request by request while the run goes (``record``),
travels between processes as plain data (``to_wire``/``from_wire``), merges exactly
(``merge``), and prints as one JSON object (``as_dict``) or Rich tables (``render_text``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table

from agentic_trading.load.histogram import LatencyHistogram, Timeline

# A request sent this much after its intended time means the generator fell behind ...
LAG_LIMIT_S = 0.010
# ... and more than this fraction of such requests makes the whole run suspect.
LAG_TOLERATED_FRACTION = 0.01

PERCENTILES: dict[str, float] = {"p50": 50, "p90": 90, "p95": 95, "p99": 99, "p999": 99.9}


@dataclass
class GeneratorLag:
    """How late the generator itself sent requests (open model), against their intended times."""

    dispatched: int = 0
    late: int = 0
    lag: LatencyHistogram = field(default_factory=LatencyHistogram)

    def record(self, lag_s: float) -> None:
        self.dispatched += 1
        if lag_s > LAG_LIMIT_S:
            self.late += 1
        self.lag.record_seconds(max(lag_s, 0.0))

    @property
    def late_fraction(self) -> float:
        return self.late / self.dispatched if self.dispatched else 0.0

    @property
    def fell_behind(self) -> bool:
        return self.late_fraction > LAG_TOLERATED_FRACTION

    def merge(self, other: GeneratorLag) -> None:
        self.dispatched += other.dispatched
        self.late += other.late
        self.lag.merge(other.lag)

    def as_dict(self) -> dict[str, Any]:
        p99 = self.lag.percentile_ms(99)
        return {
            "fell_behind": self.fell_behind,
            "late_requests": self.late,
            "late_fraction": round(self.late_fraction, 6),
            "limit_ms": LAG_LIMIT_S * 1000,
            "p99_ms": None if p99 is None else round(p99, 3),
            "max_ms": None if self.lag.max_ms is None else round(self.lag.max_ms, 3),
        }

    def warning(self) -> str | None:
        if not self.fell_behind:
            return None
        return (
            f"the load generator fell behind: {self.late_fraction:.1%} of requests left more than "
            f"{LAG_LIMIT_S * 1000:g} ms after their intended time (worst {self.lag.max_ms:.0f} ms). "
            "Latencies include that delay, so they overstate the target's; "
            "use more --workers, a lower --rate, or another machine."
        )


@dataclass
class LoadResult:
    """Every request of one run: outcomes, latencies, timeline and the generator's own lag."""

    target: str
    model: dict[str, Any]
    requests: int = 0
    ok: int = 0
    status_codes: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    timeline: Timeline = field(default_factory=Timeline)
    generator_lag: GeneratorLag | None = None
    elapsed_s: float = 0.0

    def record(self, second: int, latency_s: float, status: int | None, error: str | None) -> None:
        """One finished request: an HTTP status (any) with its latency, or a transport error."""
        self.requests += 1
        if status is not None:
            self.status_codes[str(status)] += 1
            good = 200 <= status < 300
            if good:
                self.ok += 1
            self.latency.record_seconds(latency_s)
            self.timeline.record(second, latency_s, error=not good)
        else:
            self.errors[error or "unknown"] += 1
            self.timeline.record(second, None, error=True)

    @property
    def failed(self) -> int:
        return self.requests - self.ok

    @property
    def success_rate(self) -> float:
        return self.ok / self.requests if self.requests else 0.0

    @property
    def error_rate(self) -> float:
        return 1.0 - self.success_rate if self.requests else 0.0

    @property
    def throughput_rps(self) -> float:
        return self.requests / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def latency_ms(self) -> dict[str, float | None]:
        values: dict[str, float | None] = {name: self.latency.percentile_ms(p) for name, p in PERCENTILES.items()}
        values["max"] = self.latency.max_ms
        return {name: None if v is None else round(v, 3) for name, v in values.items()}

    def merge(self, other: LoadResult) -> None:
        self.requests += other.requests
        self.ok += other.ok
        self.status_codes.update(other.status_codes)
        self.errors.update(other.errors)
        self.latency.merge(other.latency)
        self.timeline.merge(other.timeline)
        if other.generator_lag is not None:
            if self.generator_lag is None:
                self.generator_lag = GeneratorLag()
            self.generator_lag.merge(other.generator_lag)
        self.elapsed_s = max(self.elapsed_s, other.elapsed_s)

    def as_dict(self) -> dict[str, Any]:
        """The JSON report (``atctl load --format json``)."""
        return {
            "target": self.target,
            "model": self.model,
            "requests": self.requests,
            "success_rate": round(self.success_rate, 6),
            "throughput_rps": round(self.throughput_rps, 2),
            "duration_s": round(self.elapsed_s, 3),
            "latency_ms": self.latency_ms(),
            "status_codes": dict(sorted(self.status_codes.items())),
            "errors": dict(sorted(self.errors.items())),
            "timeline": self.timeline.rows(),
            "generator_lag": None if self.generator_lag is None else self.generator_lag.as_dict(),
        }

    def to_wire(self) -> dict[str, Any]:
        """Plain data for sending a worker's result to the parent process."""
        lag = self.generator_lag
        return {
            "target": self.target,
            "model": self.model,
            "requests": self.requests,
            "ok": self.ok,
            "status_codes": dict(self.status_codes),
            "errors": dict(self.errors),
            "latency": self.latency.encode(),
            "timeline": self.timeline.encode(),
            "generator_lag": None if lag is None else {"dispatched": lag.dispatched, "late": lag.late, "lag": lag.lag.encode()},
            "elapsed_s": self.elapsed_s,
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> LoadResult:
        lag = data["generator_lag"]
        return cls(
            target=data["target"],
            model=data["model"],
            requests=data["requests"],
            ok=data["ok"],
            status_codes=Counter(data["status_codes"]),
            errors=Counter(data["errors"]),
            latency=LatencyHistogram.decode(data["latency"]),
            timeline=Timeline.decode(data["timeline"]),
            generator_lag=None
            if lag is None
            else GeneratorLag(dispatched=lag["dispatched"], late=lag["late"], lag=LatencyHistogram.decode(lag["lag"])),
            elapsed_s=data["elapsed_s"],
        )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f} ms"


def describe_model(model: dict[str, Any]) -> str:
    workers = model.get("workers", 1)
    processes = f", {workers} worker processes" if workers > 1 else ""
    if model.get("kind") == "open":
        return f"open: {model['rate']:g} req/s for {model['duration_s']:g} s{processes}"
    low, high = model.get("think_s", (0, 0))
    return f"closed: {model['users']} users, think {low:g}-{high:g} s, {model['duration_s']:g} s{processes}"


def render_text(result: LoadResult, console: Console, *, timeline: bool = True) -> None:
    """The human report: summary and latency, answers, and the per-second timeline."""
    summary = Table(title=f"Load on {result.target}", show_header=False, title_justify="left")
    summary.add_column(style="bold")
    summary.add_column(justify="right")
    summary.add_row("model", describe_model(result.model))
    summary.add_row("requests", f"{result.requests:,}")
    summary.add_row("success (2xx)", f"{result.success_rate:.2%}")
    summary.add_row("throughput", f"{result.throughput_rps:,.1f} req/s")
    for name, value in result.latency_ms().items():
        label = "p99.9" if name == "p999" else name
        summary.add_row(f"latency {label}", _ms(value))
    if result.generator_lag is not None:
        lag = result.generator_lag
        style = "red" if lag.fell_behind else "green"
        summary.add_row("generator late", f"[{style}]{lag.late:,} ({lag.late_fraction:.2%})[/]")
    console.print(summary)

    answers = Table(title="Answers", title_justify="left")
    answers.add_column("status / error")
    answers.add_column("requests", justify="right")
    answers.add_column("share", justify="right")
    for status, count in sorted(result.status_codes.items()):
        style = "green" if status.startswith("2") else "red"
        answers.add_row(f"[{style}]{status}[/]", f"{count:,}", f"{count / result.requests:.2%}")
    for error, count in sorted(result.errors.items()):
        answers.add_row(f"[red]{error}[/]", f"{count:,}", f"{count / result.requests:.2%}")
    if result.requests:
        console.print(answers)

    rows = result.timeline.rows()
    if timeline and rows:
        table = Table(title="Per second", title_justify="left")
        for name in ("second", "requests", "errors", "p99"):
            table.add_column(name, justify="right")
        for row in rows:
            errors = f"[red]{row['errors']:,}[/]" if row["errors"] else "0"
            table.add_row(str(row["second"]), f"{row['requests']:,}", errors, _ms(row["p99_ms"]))
        console.print(table)
