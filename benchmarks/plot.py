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
    fig, ax = plt.subplots(figsize=(7, 4.5))
    rates = [str(r["rate"]) for r in rows]
    for q, style in (("p50", "o-"), ("p95", "s--"), ("p99", "^-")):
        ax.plot(rates, [r["decision_latency_ms"].get(q) for r in rows], style, label=q)
    ax.axhline(100, color="grey", linestyle=":", label="100 ms aim (p99 at 200/s)")
    ax.set_yscale("log")
    ax.set_xlabel("signals/s")
    ax.set_ylabel("signal to decision (ms)")
    ax.set_title("Signal to decision, whole pipeline")
    ax.legend()
    fig.tight_layout()
    path = IMAGES / "benchmark-decisions.png"
    fig.savefig(path, dpi=110)
    console.print(f"wrote {path}")


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
