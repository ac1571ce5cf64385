"""The production health check against a fake Prometheus."""

from __future__ import annotations

import httpx
from _verify_fakes import FakeDeployment, FakePrometheus, vector

from agentic_trading.verify import Status, VerifyContext
from agentic_trading.verify.health import (
    INGESTION_QUERY,
    alertmanager_connected,
    alertmanager_ready,
    datasource_healthy,
    ingestion_recent,
    plan,
)


def test_the_five_checks_of_production_health_check_sh(verify_ctx: VerifyContext) -> None:
    assert [check.name for check in plan(verify_ctx)] == [
        "targets up",
        "alertmanager connected",
        "alertmanager ready",
        "datasource healthy",
        "recent ingestion",
    ]


def test_alertmanager_must_be_known_to_prometheus(verify_ctx: VerifyContext, fake_prometheus: FakePrometheus) -> None:
    assert alertmanager_connected(verify_ctx).status is Status.passed
    fake_prometheus.alertmanagers = []
    outcome = alertmanager_connected(verify_ctx)
    assert outcome.status is Status.failed and "no active Alertmanager" in outcome.message


def test_an_unreachable_alertmanager_is_named(verify_ctx: VerifyContext) -> None:
    outcome = alertmanager_ready(verify_ctx)
    assert outcome.status is Status.failed
    assert outcome.message == "http://alertmanager.test:9093/-/ready: connection refused"


def test_without_grafana_the_datasource_is_prometheus_itself_and_the_message_says_so(verify_ctx: VerifyContext) -> None:
    outcome = datasource_healthy(verify_ctx)
    assert outcome.status is Status.passed
    assert outcome.message.startswith("no --grafana-url, so the datasource itself was checked: Prometheus /-/healthy HTTP 200")


def test_ingestion_is_recent_within_two_scrape_intervals(verify_ctx: VerifyContext, fake_prometheus: FakePrometheus) -> None:
    fake_prometheus.results["up"] = vector(({"job": "gateway"}, 1))
    fake_prometheus.results[INGESTION_QUERY] = vector(({}, 0.7))
    outcome = ingestion_recent(verify_ctx)
    assert (outcome.status, outcome.message) == (Status.passed, "newest `up` sample 0.7 s old (limit 2 s)")


def test_stale_ingestion_fails(verify_ctx: VerifyContext, fake_prometheus: FakePrometheus) -> None:
    fake_prometheus.results["up"] = vector(({"job": "gateway"}, 1))
    fake_prometheus.results[INGESTION_QUERY] = vector(({}, 42.0))
    outcome = ingestion_recent(verify_ctx)
    assert outcome.status is Status.failed and outcome.message.startswith("the newest `up` sample is 42.0 s old")


def test_no_up_series_at_all_fails(verify_ctx: VerifyContext) -> None:
    assert ingestion_recent(verify_ctx).message == "`up` has no series: Prometheus ingests nothing"


def test_a_failing_prometheus_health_endpoint_fails_the_datasource_check(
    verify_ctx: VerifyContext, deployment: FakeDeployment, monkeypatch
) -> None:
    original = deployment.prometheus.handle

    def unhealthy(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/-/ready":
            return httpx.Response(503, text="Service Unavailable")
        return original(request)

    monkeypatch.setattr(deployment.prometheus, "handle", unhealthy)
    outcome = datasource_healthy(verify_ctx)
    assert outcome.status is Status.failed and outcome.message == "Prometheus /-/ready answered HTTP 503"
