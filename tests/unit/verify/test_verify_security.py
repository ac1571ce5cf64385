"""The security category: measured facts judged by the gateway's posture rules."""

from __future__ import annotations

import httpx

from agentic_trading.settings import Settings
from agentic_trading.verify import Status
from agentic_trading.verify.context import Endpoints, Sources, VerifyContext
from agentic_trading.verify.model import Outcome, checks_on
from agentic_trading.verify.security import endpoints_on_loopback, gateway_limits, plan, webhook_secret_enforced


def _ctx(handler, gateway: str = "http://127.0.0.1:8001", settings: Settings | None = None) -> VerifyContext:
    http = httpx.Client(transport=httpx.MockTransport(handler))
    endpoints = Endpoints(prometheus="http://127.0.0.1:9090", alertmanager="http://127.0.0.1:9093", gateway=gateway)
    return VerifyContext(endpoints, Sources.defaults(), http, settings=settings)


def _answer(status: int, body: dict | None = None):
    return lambda request: httpx.Response(status, json=body or {})


def test_each_row_of_a_plan_becomes_a_check_that_asks_its_answer_of_the_context():
    asked = []
    checks = checks_on("security", "ctx", [("one", "first", lambda ctx: asked.append(ctx) or Outcome.passed("1"))])
    assert [(c.category, c.name, c.description) for c in checks] == [("security", "one", "first")]
    assert checks[0].run().message == "1" and asked == ["ctx"]


def test_the_security_plan_runs_the_gateway_check_on_its_context():
    checks = {check.name: check for check in plan(_ctx(_answer(401)))}
    assert len(checks) == 11 and checks["webhook secret"].run().status is Status.passed


def test_a_gateway_that_refuses_unsigned_webhooks_passes():
    assert webhook_secret_enforced(_ctx(_answer(401))).status is Status.passed


def test_no_secret_passes_on_loopback_and_fails_off_it():
    assert webhook_secret_enforced(_ctx(_answer(200))).status is Status.passed
    outcome = webhook_secret_enforced(_ctx(_answer(200), gateway="http://10.0.0.5:8001"))
    assert outcome.status is Status.failed and "AT_WEBHOOK_SECRET" in outcome.message


def _targets(host: str):
    body = {"status": "success", "data": {"activeTargets": [
        {"labels": {"job": "gateway", "service": "gateway"}, "scrapeUrl": f"http://{host}:8001/metrics", "health": "up"},
    ]}}  # fmt: skip
    return _answer(200, body)


def test_a_metrics_endpoint_off_loopback_fails_and_names_it():
    assert endpoints_on_loopback(_ctx(_targets("127.0.0.1"))).status is Status.passed
    outcome = endpoints_on_loopback(_ctx(_targets("0.0.0.0")))
    assert outcome.status is Status.failed and "gateway" in outcome.message


def test_gateway_limits_need_the_local_settings():
    assert gateway_limits(_ctx(_answer(200))).status is Status.skipped
    assert gateway_limits(_ctx(_answer(200), settings=Settings())).status is Status.passed
