"""Collection checks against a fake Prometheus: targets, series, exposition lint."""

from __future__ import annotations

import pytest
from _verify_fakes import FakeDeployment, FakePrometheus, target, vector

from agentic_trading.verify import Status, VerifyContext
from agentic_trading.verify.collection import exposition_passes, metric_has_series, plan, targets_up


def test_a_down_target_is_named_with_its_error(verify_ctx: VerifyContext, fake_prometheus: FakePrometheus) -> None:
    fake_prometheus.targets.append(
        target("nats", "127.0.0.1:7777", health="down", service="nats-exporter", error="connection refused")
    )
    outcome = targets_up(verify_ctx)
    assert outcome.status is Status.failed
    assert outcome.message == "1 of 2 targets down: nats-exporter"
    assert outcome.details == ("job nats (service nats-exporter) at http://127.0.0.1:7777/metrics: connection refused",)
    assert outcome.query == "up == 0"


def test_no_targets_at_all_fails(verify_ctx: VerifyContext, fake_prometheus: FakePrometheus) -> None:
    fake_prometheus.targets = []
    assert targets_up(verify_ctx).status is Status.failed


def test_missing_series_name_the_down_source(verify_ctx: VerifyContext, fake_prometheus: FakePrometheus) -> None:
    fake_prometheus.targets.append(target("nats", "127.0.0.1:7777", health="down", service="nats-exporter"))
    outcome = metric_has_series(verify_ctx, verify_ctx.catalog.metrics["nats_consumer_pending_messages"])
    assert outcome.status is Status.failed
    assert (
        outcome.message == "nats_consumer_pending_messages has no series: its source is down (nats/nats-exporter 127.0.0.1:7777)"
    )
    # A gateway metric is not blamed on the NATS exporter.
    gateway = metric_has_series(verify_ctx, verify_ctx.catalog.metrics["gateway_webhooks_total"])
    assert "is the source scraped" in gateway.message


def test_histograms_are_looked_up_by_their_buckets(verify_ctx: VerifyContext, fake_prometheus: FakePrometheus) -> None:
    fake_prometheus.results["gateway_processing_duration_seconds_bucket"] = vector(({"le": "1"}, 3), ({"le": "+Inf"}, 3))
    outcome = metric_has_series(verify_ctx, verify_ctx.catalog.metrics["gateway_processing_duration_seconds"])
    assert (outcome.status, outcome.message) == (Status.passed, "2 series")


def test_conditional_metrics_without_series_are_skipped_with_the_reason(verify_ctx: VerifyContext) -> None:
    outcome = metric_has_series(verify_ctx, verify_ctx.catalog.metrics["orchestrator_missing_opinions_total"])
    assert outcome.status is Status.skipped
    assert "only after the first decision taken without every agent" in outcome.message


def test_plan_has_one_series_check_per_catalog_metric_and_one_exposition_check_per_target(verify_ctx: VerifyContext) -> None:
    names = [check.name for check in plan(verify_ctx)]
    assert names[0] == "targets up"
    assert sum(name.startswith("series ") for name in names) == len(verify_ctx.catalog.metrics)
    assert [name for name in names if name.startswith("exposition ")] == ["exposition gateway gateway.test:8001"]


@pytest.mark.usefixtures("promtool")
def test_a_valid_exposition_passes(verify_ctx: VerifyContext, fake_prometheus: FakePrometheus) -> None:
    outcome = exposition_passes(verify_ctx, fake_prometheus.targets[0])
    assert outcome.status is Status.passed, outcome.message
    assert outcome.query == "curl -s 'http://gateway.test:8001/metrics' | promtool check metrics"


@pytest.mark.usefixtures("promtool")
def test_naming_findings_fail_only_for_catalogued_metrics(
    verify_ctx: VerifyContext, fake_prometheus: FakePrometheus, deployment: FakeDeployment
) -> None:
    deployment.gateway.exposition_extra = (
        "# HELP third_party_reads Reads\n# TYPE third_party_reads counter\nthird_party_reads 1\n"
    )
    outcome = exposition_passes(verify_ctx, fake_prometheus.targets[0])
    assert outcome.status is Status.passed
    assert outcome.details == ('third_party_reads counter metrics should have "_total" suffix',)
    deployment.gateway.exposition_extra = "# HELP up Up\n# TYPE up counter\nup 1\n"
    outcome = exposition_passes(verify_ctx, fake_prometheus.targets[0])
    assert outcome.status is Status.failed
    assert outcome.message.startswith("1 naming problem in catalogued metrics: up counter metrics")


@pytest.mark.usefixtures("promtool")
def test_an_exposition_that_does_not_parse_fails(
    verify_ctx: VerifyContext, fake_prometheus: FakePrometheus, deployment: FakeDeployment
) -> None:
    deployment.gateway.exposition_extra = "broken{ 1\n"
    outcome = exposition_passes(verify_ctx, fake_prometheus.targets[0])
    assert outcome.status is Status.failed and "does not parse" in outcome.message


def test_an_unreachable_target_fails_the_exposition_check(verify_ctx: VerifyContext) -> None:
    outcome = exposition_passes(verify_ctx, target("nats", "nats.test:7777"))
    assert outcome.status is Status.failed
    assert outcome.message == "could not fetch http://nats.test:7777/metrics: connection refused"
