"""Accuracy checks against a fake deployment: the test webhook, resets, histograms, ranges."""

from __future__ import annotations

import json

from _verify_fakes import FakeDeployment, FakePrometheus, target, vector

from agentic_trading.verify import Status, VerifyContext
from agentic_trading.verify.accuracy import (
    TEST_WEBHOOKS,
    ResetHistory,
    counter_never_decreases,
    exposition_sum,
    histogram_consistent,
    range_query,
    reset_window,
    restarted_targets,
    values_in_range,
    webhook_counted_exactly,
)

PROMETHEUS_TEST_COUNT = 'sum(gateway_webhooks_total{endpoint="test", job="gateway", instance="gateway.test:8001"})'


def _prometheus_follows_the_gateway(deployment: FakeDeployment) -> None:
    deployment.prometheus.results[PROMETHEUS_TEST_COUNT] = lambda: vector(({}, deployment.gateway.count))


def test_exactly_the_sent_webhooks_are_counted_on_the_gateway_and_in_prometheus(
    verify_ctx: VerifyContext, deployment: FakeDeployment
) -> None:
    _prometheus_follows_the_gateway(deployment)
    outcome = webhook_counted_exactly(verify_ctx)
    assert outcome.status is Status.passed, outcome.message
    assert outcome.message.startswith(f"sent {TEST_WEBHOOKS} (answers 200×{TEST_WEBHOOKS}): the gateway counted +3 (5 -> 8)")
    assert outcome.query == PROMETHEUS_TEST_COUNT
    bodies = [json.loads(request.content) for request in deployment.gateway.posted]
    assert len(bodies) == TEST_WEBHOOKS and all(body["instrument"] == "EURUSD" and body["timestamp"] for body in bodies)
    keys = {request.headers["Idempotency-Key"] for request in deployment.gateway.posted}
    assert len(keys) == TEST_WEBHOOKS, "each test webhook is a new signal, not a retry"


def test_a_gateway_that_counts_twice_is_caught(verify_ctx: VerifyContext, deployment: FakeDeployment) -> None:
    deployment.gateway.miscount = 1
    outcome = webhook_counted_exactly(verify_ctx)
    assert outcome.status is Status.failed
    # Off by the same +3 on every try, so not another sender's post: tried SEND_ATTEMPTS times.
    assert "went from 17 to 23 (+6)" in outcome.message
    assert len(deployment.gateway.posted) == 3 * TEST_WEBHOOKS


def test_another_senders_post_in_the_count_is_tried_again(verify_ctx: VerifyContext, deployment: FakeDeployment) -> None:
    """The stack's canary posts to /webhook/test every few seconds: one such post costs one more try."""
    _prometheus_follows_the_gateway(deployment)
    deployment.gateway.extra_once = 1
    outcome = webhook_counted_exactly(verify_ctx)
    assert outcome.status is Status.passed, outcome.message
    assert len(deployment.gateway.posted) == 2 * TEST_WEBHOOKS


def test_prometheus_lagging_behind_the_gateway_is_caught(
    verify_ctx: VerifyContext, deployment: FakeDeployment, monkeypatch
) -> None:
    monkeypatch.setattr("agentic_trading.verify.accuracy.POLL_INTERVAL_S", 0.01)
    monkeypatch.setattr(VerifyContext, "scrape_interval_s", 0.0)
    monkeypatch.setattr("agentic_trading.verify.accuracy.PROMETHEUS_WAIT_SLACK_S", 0.05)
    deployment.prometheus.results[PROMETHEUS_TEST_COUNT] = vector(({}, 5))
    outcome = webhook_counted_exactly(verify_ctx)
    assert outcome.status is Status.failed
    assert outcome.message.startswith("the gateway counts 8 test webhooks but Prometheus shows 5.0")


def test_exposition_sums_match_labels() -> None:
    text = 'x_total{endpoint="test",status="200"} 2\nx_total{endpoint="test",status="422"} 1\nx_total{endpoint="tv"} 9\n'
    assert exposition_sum(text, "x_total", endpoint="test") == 3


def test_a_counter_reset_without_a_restart_fails(verify_ctx: VerifyContext, fake_prometheus: FakePrometheus) -> None:
    spec = verify_ctx.catalog.metrics["gateway_webhooks_total"]
    fake_prometheus.results["resets(gateway_webhooks_total[5m]) > 0"] = vector(
        ({"job": "gateway", "instance": "g:1", "status": "200"}, 1),
    )
    outcome = counter_never_decreases(verify_ctx, spec, lambda: ResetHistory("5m"))
    assert outcome.status is Status.failed
    assert outcome.message == (
        "1 series of gateway_webhooks_total decreased while their target kept running: "
        'gateway_webhooks_total{instance="g:1", job="gateway", status="200"} went down 1×'
    )
    restarted = counter_never_decreases(verify_ctx, spec, lambda: ResetHistory("5m", frozenset({("gateway", "g:1")})))
    assert restarted.status is Status.passed and "across a restart" in restarted.message
    too_early = counter_never_decreases(verify_ctx, spec, lambda: ResetHistory(None))
    assert too_early.status is Status.skipped


def test_the_reset_window_starts_after_prometheus_started(verify_ctx: VerifyContext, fake_prometheus: FakePrometheus) -> None:
    assert reset_window(verify_ctx) == "5m", "Prometheus that does not say when it started: the last 5 minutes"
    fake_prometheus.start_time = "2023-11-14T22:11:39.500000000Z"  # 100.5 s before the time() below
    fake_prometheus.results["time()"] = vector(({}, 1700000000.0))
    verify_ctx.__dict__.pop("prometheus_started_at", None)
    assert reset_window(verify_ctx) == "1m39s"
    fake_prometheus.start_time = "2023-11-14T22:13:19Z"  # 1 s before: no two scrapes to compare yet
    verify_ctx.__dict__.pop("prometheus_started_at", None)
    assert reset_window(verify_ctx) is None


def test_histogram_checks_query_count_and_buckets_at_once(verify_ctx: VerifyContext, fake_prometheus: FakePrometheus) -> None:
    spec = verify_ctx.catalog.metrics["orchestrator_workflow_duration_seconds"]
    query = '{__name__=~"orchestrator_workflow_duration_seconds_bucket|orchestrator_workflow_duration_seconds_count"}'
    fake_prometheus.results[query] = vector(
        ({"__name__": "orchestrator_workflow_duration_seconds_bucket", "le": "1", "job": "o"}, 4),
        ({"__name__": "orchestrator_workflow_duration_seconds_bucket", "le": "+Inf", "job": "o"}, 4),
        ({"__name__": "orchestrator_workflow_duration_seconds_count", "job": "o"}, 5),
    )
    outcome = histogram_consistent(verify_ctx, spec)
    assert outcome.status is Status.failed
    assert 'le="+Inf" holds 4 but _count is 5' in outcome.message
    assert outcome.query == query


def test_a_gauge_out_of_range_fails_naming_the_series_and_value(
    verify_ctx: VerifyContext, fake_prometheus: FakePrometheus
) -> None:
    spec = verify_ctx.catalog.metrics["container_cpu_usage_percent"]
    fake_prometheus.results["container_cpu_usage_percent"] = vector(
        ({"__name__": "container_cpu_usage_percent", "service": "gateway"}, 12.5),
        ({"__name__": "container_cpu_usage_percent", "service": "redis"}, 180.0),
    )
    outcome = values_in_range(verify_ctx, spec)
    assert outcome.status is Status.failed
    assert outcome.message == (
        '1 of 2 series of container_cpu_usage_percent outside [0, 100]: container_cpu_usage_percent{service="redis"} = 180'
    )
    assert outcome.query == (
        "container_cpu_usage_percent != container_cpu_usage_percent or container_cpu_usage_percent < 0 "
        "or container_cpu_usage_percent > 100"
    )


def test_range_queries_leave_out_unbounded_sides(verify_ctx: VerifyContext) -> None:
    assert range_query(verify_ctx.catalog.metrics["gateway_webhooks_total"]) == (
        "gateway_webhooks_total != gateway_webhooks_total or gateway_webhooks_total < 0"
    )


def test_a_metric_without_series_is_skipped_by_the_range_check(verify_ctx: VerifyContext) -> None:
    outcome = values_in_range(verify_ctx, verify_ctx.catalog.metrics["agent_confidence_score"])
    assert outcome.status is Status.skipped


def test_restarts_are_seen_by_start_time_missed_scrapes_and_the_process_exporter(
    verify_ctx: VerifyContext, fake_prometheus: FakePrometheus
) -> None:
    fake_prometheus.targets += [
        target("agents", "a:8101", service="agent-risk"),
        target("nats", "n:7777", service="nats-exporter"),
    ]
    fake_prometheus.results["changes(process_start_time_seconds[5m]) > 0"] = vector(({"job": "redis", "instance": "r:9121"}, 1))
    fake_prometheus.results["min_over_time(up[5m]) == 0"] = vector(({"job": "nats", "instance": "n:7777"}, 0))
    fake_prometheus.results["changes(supervised_process_restarts_total[5m]) > 0"] = vector(
        ({"job": "processes", "service": "agent-risk"}, 1)
    )
    assert restarted_targets(verify_ctx, "5m") == {("redis", "r:9121"), ("nats", "n:7777"), ("agents", "a:8101")}
