"""Security: what an attacker on the network would find, judged by ``verify/posture.py``.

The control surfaces (anonymous Redis and NATS, Prometheus' lifecycle API and queries,
Alertmanager's silences, stray secrets in process environments, header limits) are probed
by ``verify/access.py``.

Facts are measured where they can be, so the checks work against a remote deployment: an
unauthenticated test webhook shows whether the gateway enforces a secret, the scrape targets'
addresses show which /metrics and /healthz endpoints are off loopback, an anonymous request
shows whether Grafana lets anyone in. The gateway's own limits (replay window, rate limit,
proxy trust) are read from the local stack's settings, and skipped for a remote one.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import httpx

from agentic_trading.settings import Settings
from agentic_trading.verify import access
from agentic_trading.verify.context import VerifyContext
from agentic_trading.verify.model import Check, Outcome, checks_on
from agentic_trading.verify.posture import PostureFinding, is_loopback, security_posture

CATEGORY = "security"
_SETTINGS_FINDINGS = ("replay_window", "rate_limit", "trust_proxy")


def plan(ctx: VerifyContext) -> list[Check]:
    return checks_on(
        CATEGORY,
        ctx,
        [
            (
                "webhook secret",
                "a test webhook without the secret is refused (401) wherever the gateway is reachable off loopback",
                webhook_secret_enforced,
            ),
            (
                "endpoints on loopback",
                "every scrape target's /metrics and /healthz listens on loopback only",
                endpoints_on_loopback,
            ),
            (
                "dashboards access",
                "Grafana does not let anonymous visitors in when it is reachable off loopback",
                dashboards_access,
            ),
            (
                "gateway limits",
                "the gateway's replay window, rate limit and proxy trust are safe for where it listens",
                gateway_limits,
            ),
            ("redis anonymous", "an anonymous Redis PING is refused", access.redis_anonymous),
            ("nats anonymous", "an anonymous NATS client is refused", access.nats_anonymous),
            ("prometheus lifecycle", "Prometheus' lifecycle API (/-/quit, /-/reload) is off", access.prometheus_lifecycle),
            (
                "prometheus queries",
                "an unauthenticated query is refused wherever Prometheus listens off loopback",
                access.prometheus_read_api,
            ),
            (
                "alertmanager silences",
                "an unauthenticated silence is refused wherever Alertmanager listens off loopback",
                access.alertmanager_silences,
            ),
            (
                "secrets in environments",
                "no process of the local stack holds a secret it does not need (/proc/PID/environ)",
                access.secrets_in_environments,
            ),
            ("header limits", "the gateway refuses a flood of headers with 431", access.header_limits),
        ],
    )


def _host(url: str) -> str:
    return urlsplit(url).hostname or ""


def _outcome(finding: PostureFinding, reproduce: str | None = None) -> Outcome:
    return (Outcome.passed if finding.ok else Outcome.failed)(finding.message, reproduce)


def webhook_secret_enforced(ctx: VerifyContext) -> Outcome:
    if not ctx.endpoints.gateway:
        return Outcome.skipped("no --gateway-url given")
    # A valid test signal: refused (401) by a gateway that wants a secret, accepted as a test
    # (which never moves positions) by one that does not; an invalid body would count as a
    # validation error and could trip GatewayHighErrorRate by itself.
    url = f"{ctx.endpoints.gateway}/webhook/test"
    body = {"instrument": "EURUSD", "action": "hold", "strategy": "atctl-verify-security"}
    reproduce = f"curl -s -X POST {url} -H 'Content-Type: application/json' -d '{json.dumps(body)}'"
    response = ctx.http.post(url, json=body)
    exposed = not is_loopback(_host(ctx.endpoints.gateway))
    if response.status_code == 401:
        return Outcome.passed("a webhook without the secret is refused with 401", reproduce)
    if response.status_code == 200:
        if exposed:
            return Outcome.failed(
                f"the gateway at {ctx.endpoints.gateway} accepts webhooks without a secret and is reachable off "
                'loopback: set AT_WEBHOOK_SECRET (and put it in the TradingView alert as "secret")',
                reproduce,
            )
        return Outcome.passed("no webhook secret; acceptable only while the gateway listens on loopback", reproduce)
    return Outcome.failed(f"an unauthenticated test webhook got HTTP {response.status_code}, not 401 or 200", reproduce)


def _bound_addresses(ctx: VerifyContext) -> dict[str, str]:
    bound: dict[str, str] = {}
    for target in ctx.targets:
        labels = target.get("labels", {})
        name = labels.get("service") or labels.get("job") or target.get("scrapeUrl", "?")
        bound[name] = _host(target.get("scrapeUrl", ""))
    return bound


def endpoints_on_loopback(ctx: VerifyContext) -> Outcome:
    bound = _bound_addresses(ctx)
    if not bound:
        return Outcome.failed("Prometheus has no scrape targets to judge", f"curl -s {ctx.endpoints.prometheus}/api/v1/targets")
    finding = _finding(ctx.settings or Settings(), bound, "exposed_endpoints")
    return _outcome(finding, f"curl -s {ctx.endpoints.prometheus}/api/v1/targets")


def dashboards_access(ctx: VerifyContext) -> Outcome:
    if not ctx.endpoints.grafana:
        return Outcome.skipped("no --grafana-url given: the local stack has no Grafana")
    url = f"{ctx.endpoints.grafana}/api/search"
    try:
        anonymous = httpx.get(url, timeout=5.0).status_code == 200
    except httpx.HTTPError as exc:
        return Outcome.failed(f"Grafana at {ctx.endpoints.grafana} did not answer: {exc}", f"curl -s {url}")
    finding = _finding(Settings(), {"dashboards": _host(ctx.endpoints.grafana)}, "dashboards_access", anonymous=anonymous)
    return _outcome(finding, f"curl -s {url}")


def gateway_limits(ctx: VerifyContext) -> Outcome:
    if ctx.settings is None:
        return Outcome.skipped("a remote gateway's settings are not visible from here")
    findings = [f for f in security_posture(ctx.settings, {"gateway": ctx.settings.host}) if f.name in _SETTINGS_FINDINGS]
    problems = [f for f in findings if not f.ok]
    details = [f"{f.name}: {f.message}" for f in findings]
    if problems:
        return Outcome.failed("; ".join(f.message for f in problems), details=details)
    return Outcome.passed(f"{len(findings)} settings safe for {ctx.settings.host}", details=details)


def _finding(settings: Settings, bound: dict[str, str], name: str, *, anonymous: bool = False) -> PostureFinding:
    return next(f for f in security_posture(settings, bound, dashboards_anonymous=anonymous) if f.name == name)
