"""Prometheus and Alertmanager off loopback: basic auth and TLS, and `atctl verify` notices a reopened one.

A stack of this module's own runs Prometheus, Alertmanager and the alert receiver with
``AT_WEB_HOST=0.0.0.0`` (the option that binds them beyond loopback; every request here still
goes to this machine). ``atctl up`` gives them a per-stack CA and certificate and basic auth
(``stack/web_tls.py``). Strangers are refused; Prometheus' scrapes of both, its Alertmanager
client and Alertmanager's webhook to the receiver carry the credentials. Then each door is
reopened for real (its web config loses ``basic_auth_users``; both servers read it on every
request) and `atctl verify --category security`, given the two URLs and the credentials as a
remote operator would (``AT_WEB_PASSWORD``, ``AT_WEB_CA_FILE``), fails exactly that check.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from _live import LiveStack, free_test_offset

from _support import eventually
from agentic_trading.chaos.experiment import discover
from agentic_trading.chaos.session import Session
from agentic_trading.settings import Settings
from agentic_trading.stack import Stack
from agentic_trading.stack.web_tls import WEB_CONFIGS
from agentic_trading.web_access import CA_CERT, WEB_ADMIN_SECRET, ssl_context, web_client_options

pytestmark = pytest.mark.integration
ATCTL = str(Path(sys.executable).parent / "atctl")
PROGRAMS = ("prometheus", "alertmanager", "receiver")
CHECKS = {"prometheus": "prometheus queries", "alertmanager": "alertmanager silences"}


@pytest.fixture(scope="module")
def secured(live: LiveStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Prometheus, Alertmanager and the receiver off loopback (after the shared stack, which the verify test uses)."""
    state_dir = tmp_path_factory.mktemp("web-auth") / "state"
    forced = os.environ.get("AT_TEST_PORT_OFFSET")
    candidates = [o for o in range(10000, 23001, 1000) if forced is None or o != int(forced)]
    stack = Stack(Settings(state_dir=state_dir, port_offset=free_test_offset(state_dir, candidates), web_host="0.0.0.0"))
    stack.up(PROGRAMS, timeout=60)
    try:
        yield stack
    finally:
        stack.down(purge=True)


def _secrets(stack: Stack) -> Path:
    return stack.paths.state_dir / "secrets"


def _anonymous(stack: Stack) -> httpx.Client:
    """A client that trusts the stack's CA and knows no password."""
    return httpx.Client(timeout=5.0, trust_env=False, verify=ssl_context(str(_secrets(stack) / CA_CERT)))


def _anonymous_query(stack: Stack) -> int:
    with _anonymous(stack) as client:
        return client.get(stack.settings.url("prometheus") + "/api/v1/query", params={"query": "vector(1)"}).status_code


def _anonymous_silence(stack: Stack) -> int:
    with _anonymous(stack) as client:
        return client.post(stack.settings.url("alertmanager") + "/api/v2/silences", json={}).status_code


def test_off_loopback_they_require_tls_and_basic_auth_and_their_own_clients_carry_it(secured: Stack):
    settings = secured.settings
    assert settings.url("prometheus").startswith("https://0.0.0.0:")
    plain = httpx.get(f"http://127.0.0.1:{settings.port('prometheus')}/-/ready", timeout=5.0, trust_env=False)
    assert plain.status_code == 400  # Go's TLS server to a plain HTTP client
    assert _anonymous_query(secured) == 401
    assert _anonymous_silence(secured) == 401
    with _anonymous(secured) as client:
        fake = client.post(settings.url("receiver") + "/alerts", json={"alerts": []})
        assert fake.status_code == 401 and fake.json()["errors"][0]["field"] == "Authorization", fake.text

    with httpx.Client(timeout=5.0, trust_env=False, **web_client_options(settings)) as client:

        def value(promql: str) -> float:
            body = client.get(settings.url("prometheus") + "/api/v1/query", params={"query": promql}).json()
            return sum(float(sample["value"][1]) for sample in body["data"]["result"])

        # Its scrapes of itself and of Alertmanager authenticate (an unauthenticated scrape is down).
        eventually(lambda: value('up{job=~"prometheus|alertmanager"}') == 2, timeout_s=30, what="both scraped over TLS")
        # Its Alertmanager client authenticates: the Watchdog reaches Alertmanager, no error.
        eventually(lambda: value("prometheus_notifications_sent_total") > 0, timeout_s=30, what="alerts sent")
        assert value("prometheus_notifications_errors_total") == 0
        # Alertmanager's webhook authenticates at the receiver.
        eventually(
            lambda: client.get(settings.url("receiver") + "/notifications", params={"alertname": "Watchdog"}).json()[
                "notifications"
            ],
            timeout_s=30,
            what="the Watchdog at the receiver",
        )


def test_chaos_experiments_read_the_alert_path_with_the_stacks_credentials(secured: Stack):
    """`atctl chaos` times alerts through Prometheus, Alertmanager and the receiver: secured, it must sign in."""
    session = Session(stack=secured, experiment=discover()[0])
    try:
        path = session.alert_path
        assert path.alert_for_s("GatewayDown") is not None  # Prometheus' rules (401 without credentials)
        eventually(lambda: "Watchdog" in path.active_in_alertmanager(), timeout_s=30, what="Watchdog in Alertmanager")
        assert "Watchdog" in path.firing_in_prometheus()
        assert isinstance(path.notifications(alertname="Watchdog"), list)
    finally:
        session.close()


def _verify_security(live: LiveStack, secured: Stack) -> dict[str, str]:
    """`atctl verify --category security` at the shared stack, with the secured Prometheus and Alertmanager."""
    env = {
        **os.environ,
        "COLUMNS": "80",
        "AT_WEB_PASSWORD": (_secrets(secured) / WEB_ADMIN_SECRET).read_text(),
        "AT_WEB_CA_FILE": str(_secrets(secured) / CA_CERT),
    }
    command = [ATCTL, "verify", "--category", "security", "--format", "json", "--quiet"]
    command += ["--state-dir", str(live.stack.paths.state_dir)]
    command += [
        "--prometheus-url",
        secured.settings.url("prometheus"),
        "--alertmanager-url",
        secured.settings.url("alertmanager"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False, env=env)
    assert result.returncode in (0, 1), result.stderr
    return {check["name"]: check["status"] for check in json.loads(result.stdout)["checks"]}


def _failed(statuses: dict[str, str]) -> set[str]:
    return {name for name, status in statuses.items() if status == "failed"}


@pytest.mark.parametrize("component", ["prometheus", "alertmanager"])
def test_verify_fails_exactly_the_check_of_the_reopened_one(live: LiveStack, secured: Stack, component: str):
    before = _verify_security(live, secured)
    assert before[CHECKS["prometheus"]] == before[CHECKS["alertmanager"]] == "passed", before
    # (Prometheus' own targets are on 0.0.0.0 here, which "endpoints on loopback" may judge too.)
    baseline = _failed(before) - {"endpoints on loopback"}
    assert not baseline, before

    probe = {"prometheus": _anonymous_query, "alertmanager": _anonymous_silence}[component]
    web_config = _secrets(secured) / WEB_CONFIGS[component]
    original = web_config.read_text()
    opened = yaml.safe_load(original)
    del opened["basic_auth_users"]
    web_config.write_text(yaml.safe_dump(opened))
    try:
        eventually(lambda: probe(secured) != 401, timeout_s=10, what=f"{component} open to strangers")
        after = _verify_security(live, secured)
        assert _failed(after) - {"endpoints on loopback"} == {CHECKS[component]}, after
    finally:
        web_config.write_text(original)
    eventually(lambda: probe(secured) == 401, timeout_s=10, what=f"{component} closed again")
