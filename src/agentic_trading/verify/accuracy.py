"""Accuracy: do the numbers tell the truth?

The specification's ``test_metric_accuracy.py``, made exact: a test webhook raises the
gateway's counter by exactly what was sent (on its own ``/metrics`` and then in
Prometheus), counters never go down except across a restart, histogram buckets agree
with each other, and every sample stays inside its catalog range.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import httpx
from prometheus_client.parser import text_string_to_metric_families

from agentic_trading.observability.catalog import MetricSpec
from agentic_trading.observability.durations import format_duration
from agentic_trading.verify.context import VerifyContext
from agentic_trading.verify.invariants import histogram_problems, out_of_range, unexplained_resets
from agentic_trading.verify.model import Check, Outcome
from agentic_trading.verify.prometheus import describe_transport

CATEGORY = "accuracy"
TEST_WEBHOOKS = 3
TEST_ENDPOINT = "test"
# How long the gateway may take to count an answered webhook on its own /metrics.
GATEWAY_COUNT_DEADLINE_S = 5.0
# Counter resets are looked for over this window (every pair of consecutive scrapes in it),
# never reaching back before Prometheus's own start: across that gap a restart leaves no trace.
MAX_RESET_WINDOW_S = 300.0
SUPERVISED_RESTARTS = "supervised_process_restarts_total"
POLL_INTERVAL_S = 0.2
# Sends of the test webhooks when another sender's post lands in the count.
SEND_ATTEMPTS = 3
# Prometheus must show the gateway's count within 3 scrape intervals and this much more.
PROMETHEUS_WAIT_SLACK_S = 5.0


def plan(ctx: VerifyContext) -> list[Check]:
    checks = [
        Check(
            CATEGORY,
            "test webhook counted",
            f'{TEST_WEBHOOKS} POSTs to /webhook/test raise gateway_webhooks_total{{endpoint="test"}} by exactly '
            f"{TEST_WEBHOOKS}, on the gateway's /metrics and then in Prometheus",
            partial(webhook_counted_exactly, ctx),
        )
    ]
    history = _Once(partial(reset_history, ctx))
    for spec in ctx.catalog.of_type("counter") + ctx.catalog.of_type("histogram"):
        checks.append(
            Check(
                CATEGORY,
                f"monotonic {spec.name}",
                f"{spec.name} never decreased between two scrapes of the last 5 minutes (or since Prometheus "
                "started), except where its target restarted",
                partial(counter_never_decreases, ctx, spec, history),
            )
        )
    for spec in ctx.catalog.of_type("histogram"):
        checks.append(
            Check(
                CATEGORY,
                f"histogram {spec.name}",
                f'{spec.name}_bucket grows with le, and le="+Inf" equals {spec.name}_count',
                partial(histogram_consistent, ctx, spec),
            )
        )
    for spec in ctx.catalog.ranged():
        checks.append(
            Check(
                CATEGORY,
                f"range {spec.name}",
                f"every sample of {spec.name} lies in {spec.describe_range()} (catalog range)",
                partial(values_in_range, ctx, spec),
            )
        )
    return checks


class _Once:
    """A value computed on first use and shared by the checks that need it."""

    def __init__(self, compute: Callable[[], Any]):
        self._compute = compute
        self._done = False
        self._value: Any = None

    def __call__(self) -> Any:
        if not self._done:
            self._value = self._compute()
            self._done = True
        return self._value


# --- the test webhook ----------------------------------------------------------------


def webhook_payload(secret: str | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "instrument": "EURUSD",
        "action": "buy",
        "confidence": 0.85,
        "price": 1.085,
    }
    if secret:
        payload["secret"] = secret
    return payload


def gateway_test_webhooks(ctx: VerifyContext) -> float:
    """``sum(gateway_webhooks_total{endpoint="test"})`` from the gateway's own /metrics."""
    response = ctx.http.get(f"{ctx.endpoints.gateway}/metrics")
    response.raise_for_status()
    return exposition_sum(response.text, "gateway_webhooks_total", endpoint=TEST_ENDPOINT)


def exposition_sum(text: str, name: str, **labels: str) -> float:
    """The sum of every sample called ``name`` with these label values in an exposition."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def gateway_selector(ctx: VerifyContext) -> str:
    """Label matchers for the gateway we post to, as Prometheus knows it."""
    gateways = [t for t in ctx.targets if t.get("labels", {}).get("job") == "gateway"]
    netloc = urlsplit(ctx.endpoints.gateway).netloc
    same = [t for t in gateways if urlsplit(str(t.get("scrapeUrl", ""))).netloc == netloc]
    chosen = same or gateways
    if len(chosen) == 1:
        return f'job="gateway", instance="{chosen[0]["labels"]["instance"]}"'
    return 'job="gateway"'


def webhook_counted_exactly(ctx: VerifyContext) -> Outcome:
    gateway = ctx.endpoints.gateway
    if gateway is None:
        return Outcome.failed("no gateway URL: pass --gateway-url")
    try:
        before = gateway_test_webhooks(ctx)
    except httpx.HTTPError as exc:
        return Outcome.failed(f"could not read {gateway}/metrics: {describe_transport(exc)}", f"curl -s {gateway}/metrics")
    # Another sender may post to /webhook/test at the same moment (the stack's canary does every
    # few seconds): a count off by exactly such a post is tried again; a gateway that miscounts
    # is off every time.
    for attempt in range(1, SEND_ATTEMPTS + 1):
        sent = _send_test_webhooks(ctx, gateway)
        if isinstance(sent, Outcome):
            return sent
        answers = sent
        expected = before + TEST_WEBHOOKS
        deadline = time.monotonic() + GATEWAY_COUNT_DEADLINE_S
        after = gateway_test_webhooks(ctx)
        while after < expected and time.monotonic() < deadline:
            time.sleep(POLL_INTERVAL_S)
            after = gateway_test_webhooks(ctx)
        if after == expected or attempt == SEND_ATTEMPTS:
            break
        before = after
    own = f'gateway_webhooks_total{{endpoint="test"}} on {gateway}/metrics'
    if after != expected:
        return Outcome.failed(
            f"sent {TEST_WEBHOOKS} test webhooks (answers {answers}) but {own} went from {before:g} to {after:g} "
            f"(+{after - before:g}); was other traffic sent to /webhook/test?",
            f"curl -s {gateway}/metrics | grep 'gateway_webhooks_total{{endpoint=\"test\"'",
        )

    expr = f'sum(gateway_webhooks_total{{endpoint="test", {gateway_selector(ctx)}}})'
    wait_s = 3 * ctx.scrape_interval_s + PROMETHEUS_WAIT_SLACK_S
    started = time.monotonic()
    # Prometheus must reach the gateway's count and never pass what the gateway counts at that
    # moment (later test webhooks of other senders may be scraped too).
    seen = ctx.prometheus.query_value(expr)
    while (seen is None or seen < after) and time.monotonic() - started < wait_s:
        time.sleep(POLL_INTERVAL_S)
        seen = ctx.prometheus.query_value(expr)
    if seen is not None and seen > after and seen > gateway_test_webhooks(ctx):
        return Outcome.failed(f"Prometheus shows {seen} test webhooks, more than the gateway counts", expr)
    if seen is None or seen < after:
        return Outcome.failed(
            f"the gateway counts {after:g} test webhooks but Prometheus shows {seen} after {wait_s:g} s "
            f"(3 scrape intervals + {PROMETHEUS_WAIT_SLACK_S:g} s)",
            expr,
        )
    waited = time.monotonic() - started
    return Outcome.passed(
        f"sent {TEST_WEBHOOKS} (answers {answers}): the gateway counted +{TEST_WEBHOOKS} ({before:g} -> {after:g}) "
        f"and Prometheus showed {seen:g} {waited:.1f} s later",
        expr,
    )


# --- counters, histograms, ranges ----------------------------------------------------------


@dataclass(frozen=True)
class ResetHistory:
    """The window resets are looked for in (None: too little history) and the targets that restarted in it."""

    window: str | None
    restarted: frozenset[tuple[str, str]] = frozenset()


def reset_window(ctx: VerifyContext) -> str | None:
    """The last 5 minutes, cut to what Prometheus saw since it started (less one scrape), by its own clock."""
    window_s = MAX_RESET_WINDOW_S
    started = ctx.prometheus_started_at
    if started is not None:
        now = ctx.prometheus.query_value("time()") or time.time()
        window_s = min(window_s, now - started - ctx.scrape_interval_s)
    if window_s < 2 * ctx.scrape_interval_s:
        return None
    return format_duration(math.floor(window_s))


def reset_history(ctx: VerifyContext) -> ResetHistory:
    window = reset_window(ctx)
    if window is None:
        return ResetHistory(None)
    return ResetHistory(window, frozenset(restarted_targets(ctx, window)))


def restarted_targets(ctx: VerifyContext, window: str) -> set[tuple[str, str]]:
    """(job, instance) of targets that restarted or missed a scrape within the window.

    A restart shows as a changed ``process_start_time_seconds`` (where the target exposes
    it), as a failed scrape (``up`` was 0), or, on a local stack, as a restart the process
    exporter counted for the target's ``service``.
    """
    restarted: set[tuple[str, str]] = set()
    for expr in (f"changes(process_start_time_seconds[{window}]) > 0", f"min_over_time(up[{window}]) == 0"):
        for sample in ctx.prometheus.query(expr):
            restarted.add((sample.labels.get("job", ""), sample.labels.get("instance", "")))
    # The local stack's process exporter sees restarts too fast for a missed scrape.
    services = {s.labels.get("service") for s in ctx.prometheus.query(f"changes({SUPERVISED_RESTARTS}[{window}]) > 0")}
    for target in ctx.targets:
        labels = target.get("labels") or {}
        if labels.get("service") in services:
            restarted.add((labels.get("job", ""), labels.get("instance", "")))
    return restarted


def counter_never_decreases(ctx: VerifyContext, spec: MetricSpec, history: Callable[[], ResetHistory]) -> Outcome:
    series = spec.name + "_count" if spec.type == "histogram" else spec.name
    seen = history()
    if seen.window is None:
        return Outcome.skipped("Prometheus started too recently to have two scrapes to compare")
    expr = f"resets({series}[{seen.window}]) > 0"
    resets = ctx.prometheus.query(expr)
    if not resets:
        return Outcome.passed(f"no decrease in the last {seen.window}", expr)
    bad = unexplained_resets(resets, set(seen.restarted))
    if bad:
        shown = [f"{series}{sample.describe()} went down {sample.value:g}×" for sample in bad]
        return Outcome.failed_listing(f"{len(bad)} series of {series} decreased while their target kept running", shown, expr)
    return Outcome.passed(f"{len(resets)} series reset in the last {seen.window}, each across a restart of its target", expr)


def histogram_consistent(ctx: VerifyContext, spec: MetricSpec) -> Outcome:
    # One query at one instant a scrape interval ago: buckets and count of the same scrape.
    expr = f'{{__name__=~"{spec.name}_bucket|{spec.name}_count"}}'
    at = time.time() - ctx.scrape_interval_s
    samples = ctx.prometheus.query(expr, at=at)
    buckets = [s for s in samples if s.labels.get("__name__") == f"{spec.name}_bucket"]
    counts = [s for s in samples if s.labels.get("__name__") == f"{spec.name}_count"]
    if not buckets:
        return Outcome.skipped(f"{spec.name} has no series to check", expr)
    problems = histogram_problems(buckets, counts)
    if problems:
        return Outcome.failed_listing(f"{len(problems)} inconsistent series", problems, expr, shown=2)
    return Outcome.passed(f"{len(counts)} series: buckets monotonic, +Inf equals _count", expr)


def range_query(spec: MetricSpec) -> str:
    """The PromQL that lists the offending series (NaN included)."""
    assert spec.range is not None
    low, high = spec.range
    parts = [f"{spec.name} != {spec.name}"]
    if low != float("-inf"):
        parts.append(f"{spec.name} < {low:g}")
    if high != float("inf"):
        parts.append(f"{spec.name} > {high:g}")
    return " or ".join(parts)


def values_in_range(ctx: VerifyContext, spec: MetricSpec) -> Outcome:
    samples = ctx.prometheus.query(spec.name)
    query = range_query(spec)
    if not samples:
        return Outcome.skipped(f"{spec.name} has no series to check", query)
    bad = out_of_range(spec, samples)
    if bad:
        shown = [f"{sample.describe()} = {sample.value:g}" for sample in bad]
        summary = f"{len(bad)} of {len(samples)} series of {spec.name} outside {spec.describe_range()}"
        return Outcome.failed_listing(summary, shown, query)
    values = [sample.value for sample in samples]
    return Outcome.passed(
        f"{len(samples)} series within {spec.describe_range()} (min {min(values):g}, max {max(values):g})", query
    )


def _send_test_webhooks(ctx: VerifyContext, gateway: str) -> str | Outcome:
    """POST :data:`TEST_WEBHOOKS` fresh test signals; their answers in a line, or the failure."""
    statuses = []
    for index in range(TEST_WEBHOOKS):
        headers = {"X-Correlation-ID": f"verify-{uuid.uuid4().hex[:12]}", "Idempotency-Key": f"verify-{uuid.uuid4().hex}"}
        try:
            response = ctx.http.post(f"{gateway}/webhook/test", json=webhook_payload(ctx.webhook_secret), headers=headers)
        except httpx.HTTPError as exc:
            return Outcome.failed(f"test webhook {index + 1} got no answer from {gateway}: {describe_transport(exc)}")
        statuses.append(response.status_code)
    return ", ".join(f"{code}×{statuses.count(code)}" for code in sorted(set(statuses)))
