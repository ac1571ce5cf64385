"""Pictures of the benchmark results (benchmarks/results/*.json -> docs/images/*.png).

Usage: ``python benchmarks/plot.py`` after ``gateway.py`` and/or ``decisions.py``.
"""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from _harness import IMAGES, RESULTS, console  # noqa: E402


def plot_gateway(data: dict) -> None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    sat = data["saturation"]
    names = list(sat)
    left.bar(names, [sat[n]["median_rps"] for n in names], color=["#2b7bba", "#c44e52", "#8c8c8c"][: len(names)])
    left.set_yscale("log")
    left.set_ylabel("requests/s (log scale)")
    left.set_title("Saturation, wrk -t1 -c50 (median of rounds)")
    for i, n in enumerate(names):
        left.annotate(f"{sat[n]['median_rps']:,.0f}", (i, sat[n]["median_rps"]), ha="center", va="bottom")
    for name, rows in data["fixed_rates"].items():
        right.plot([r["rate"] for r in rows], [r["latency_ms"]["p99"] for r in rows], marker="o", label=f"{name} p99")
        right.plot(
            [r["rate"] for r in rows], [r["latency_ms"]["p50"] for r in rows], marker=".", linestyle="--", label=f"{name} p50"
        )
    right.axhline(data["p99_budget_ms"], color="grey", linestyle=":", label=f"{data['p99_budget_ms']:g} ms budget")
    right.set_yscale("log")
    right.set_xlabel("offered rate (requests/s, open model)")
    right.set_ylabel("latency from intended send (ms)")
    right.set_title("Latency at fixed rates")
    right.legend(fontsize=8)
    fig.tight_layout()
    path = IMAGES / "benchmark-gateway.png"
    fig.savefig(path, dpi=110)
    console.print(f"wrote {path}")


def plot_decisions(data: dict) -> None:
    rows = data["rates"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8))
    rates = [str(r["rate"]) for r in rows]
    for q, style in (("p50", "o-"), ("p95", "s--"), ("p99", "^-")):
        left.plot(rates, [r["decision_latency_ms"].get(q) for r in rows], style, label=q)
    left.axhline(250, color="grey", linestyle=":", label="250 ms (clean: p99 below, 0 % degraded)")
    best = data.get("highest_clean_rate")
    left.set_yscale("log")
    left.set_xlabel("signals/s")
    left.set_ylabel("signal to decision (ms)")
    left.set_title(f"Signal to decision; highest clean rate: {best if best is not None else 'none'}/s")
    for i, r in enumerate(rows):
        if r.get("degraded_share"):
            left.annotate(f"{r['degraded_share']:.0%} degraded", (i, r["decision_latency_ms"].get("p99") or 1), fontsize=8)
    left.legend(fontsize=8)
    # CPU per decided signal, stacked by program (the pipeline's own programs, largest first).
    programs = [n for n in rows[-1].get("cpu_ms_per_decision", {}) if n not in _MONITORING]
    bottom = [0.0] * len(rows)
    for name in programs:
        values = [r.get("cpu_ms_per_decision", {}).get(name, 0.0) for r in rows]
        right.bar(rates, values, bottom=bottom, label=name)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    right.axhline(2.0, color="grey", linestyle=":", label="2 ms: two cores at 1,000/s")
    right.set_xlabel("signals/s")
    right.set_ylabel("CPU ms per decided signal")
    right.set_title("CPU per decided signal, by program (user + system)")
    right.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    path = IMAGES / "benchmark-decisions.png"
    fig.savefig(path, dpi=110)
    console.print(f"wrote {path}")


_MONITORING = {"prometheus", "alertmanager", "process-exporter", "nats-exporter", "redis-exporter", "receiver"}


def main() -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    for name, plot in (("gateway", plot_gateway), ("decisions", plot_decisions)):
        path = RESULTS / f"{name}.json"
        if path.exists():
            plot(json.loads(path.read_text()))
        else:
            console.print(f"no {path.name}: run benchmarks/{name}.py first")


if __name__ == "__main__":
    main()
