"""Health: the specification's ``production_health_check.sh``, against any deployment.

Targets up, Alertmanager connected, the dashboards' datasource healthy (through Grafana
when there is one, Prometheus directly otherwise), and metrics ingested recently.
Also ``atctl health``.
"""

from __future__ import annotations

import time

import httpx

from agentic_trading.observability import ObservabilityError
from agentic_trading.observability.dashboards import dashboard_paths, datasource_uids, load_dashboard
from agentic_trading.verify.collection import targets_up
from agentic_trading.verify.context import VerifyContext
from agentic_trading.verify.grafana import GrafanaError
from agentic_trading.verify.model import Check, Outcome, checks_on
from agentic_trading.verify.prometheus import describe_transport

CATEGORY = "health"
# "Recent": the newest `up` sample is at most this many scrape intervals old.
RECENT_SCRAPE_INTERVALS = 2
INGESTION_QUERY = "time() - max(timestamp(up))"
DEFAULT_DATASOURCE_UID = "prometheus"


def plan(ctx: VerifyContext) -> list[Check]:
    datasource = "the dashboards' Prometheus datasource answers /-/healthy"
    return checks_on(
        CATEGORY,
        ctx,
        [
            ("targets up", "every scrape target answered its last scrape", targets_up),
            ("alertmanager connected", "Prometheus has an active Alertmanager (/api/v1/alertmanagers)", alertmanager_connected),
            ("alertmanager ready", f"{ctx.endpoints.alertmanager}/-/ready answers 200", alertmanager_ready),
            (
                "datasource healthy",
                datasource + (" through Grafana's datasource proxy" if ctx.grafana else ""),
                datasource_healthy,
            ),
            (
                "recent ingestion",
                f"`up` has series and its newest sample is at most {RECENT_SCRAPE_INTERVALS} scrape intervals old",
                ingestion_recent,
            ),
        ],
    )


def alertmanager_connected(ctx: VerifyContext) -> Outcome:
    active = ctx.prometheus.alertmanagers()
    reproduce = f"curl -s {ctx.endpoints.prometheus}/api/v1/alertmanagers"
    if not active:
        return Outcome.failed("Prometheus has no active Alertmanager: check `alerting:` in prometheus.yml", reproduce)
    return Outcome.passed(f"{len(active)} active: {', '.join(active)}", reproduce)


def alertmanager_ready(ctx: VerifyContext) -> Outcome:
    url = f"{ctx.endpoints.alertmanager}/-/ready"
    try:
        response = ctx.http.get(url)
    except httpx.HTTPError as exc:
        return Outcome.failed(f"{url}: {describe_transport(exc)}", f"curl -f {url}")
    if not response.is_success:
        return Outcome.failed(f"{url} answered HTTP {response.status_code}", f"curl -f {url}")
    return Outcome.passed(f"{url} answered HTTP {response.status_code}", f"curl -f {url}")


def _dashboard_datasources(ctx: VerifyContext) -> list[str]:
    try:
        dashboards = [load_dashboard(path) for path in dashboard_paths(ctx.sources.dashboards_dir)]
    except ObservabilityError:
        return [DEFAULT_DATASOURCE_UID]
    return datasource_uids(dashboards) or [DEFAULT_DATASOURCE_UID]


def datasource_healthy(ctx: VerifyContext) -> Outcome:
    if ctx.grafana is None:
        seen = []
        for path in ("/-/healthy", "/-/ready"):
            ok, what = ctx.prometheus.endpoint_ok(path)
            seen.append(f"{path} {what}")
            if not ok:
                return Outcome.failed(f"Prometheus {path} answered {what}", f"curl -f {ctx.endpoints.prometheus}{path}")
        return Outcome.passed(
            "no --grafana-url, so the datasource itself was checked: Prometheus " + ", ".join(seen),
            f"curl -f {ctx.endpoints.prometheus}/-/healthy",
        )
    results = []
    for uid in _dashboard_datasources(ctx):
        try:
            ok, what, path = ctx.grafana.datasource_health(uid)
        except GrafanaError as exc:
            return Outcome.failed(f"datasource {uid}: {exc}")
        reproduce = f"curl -f {ctx.endpoints.grafana}{path}"
        if not ok:
            return Outcome.failed(f"Grafana's proxy to datasource {uid} answered {what}", reproduce)
        results.append(f"{uid}: {what} via {path}")
    return Outcome.passed("; ".join(results), reproduce)


def ingestion_recent(ctx: VerifyContext) -> Outcome:
    limit = RECENT_SCRAPE_INTERVALS * ctx.scrape_interval_s
    if not ctx.prometheus.query("up"):
        return Outcome.failed("`up` has no series: Prometheus ingests nothing", "up")
    # Measured by Prometheus's own clock (no skew with this machine's); one more look after
    # a scrape interval, so that a scrape in flight is not taken for a stall.
    deadline = time.monotonic() + ctx.scrape_interval_s
    age = ctx.prometheus.query_value(INGESTION_QUERY)
    while (age is None or age > limit) and time.monotonic() < deadline:
        time.sleep(min(0.25, ctx.scrape_interval_s / 4))
        age = ctx.prometheus.query_value(INGESTION_QUERY)
    if age is None or age > limit:
        return Outcome.failed(
            f"the newest `up` sample is {age if age is None else f'{age:.1f} s'} old, more than "
            f"{RECENT_SCRAPE_INTERVALS} scrape intervals ({limit:g} s): is Prometheus scraping?",
            INGESTION_QUERY,
        )
    return Outcome.passed(f"newest `up` sample {age:.1f} s old (limit {limit:g} s)", INGESTION_QUERY)
