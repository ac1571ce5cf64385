"""The security posture atctl verify reports: what is exposed and what protects it."""

import pytest

from agentic_trading.settings import Settings
from agentic_trading.verify.posture import PostureFinding, is_loopback, security_posture

LOCAL = {"gateway": "127.0.0.1", "prometheus": "127.0.0.1", "orchestrator": "127.0.0.1"}
STRONG = "x" * 32


def _by_name(findings: list[PostureFinding]) -> dict[str, PostureFinding]:
    return {f.name: f for f in findings}


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.0.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("", False),
        ("10.0.0.5", False),
        ("gateway.example", False),
    ],
)
def test_loopback_addresses(address, loopback):
    assert is_loopback(address) is loopback


def test_a_default_local_stack_is_fine():
    findings = security_posture(Settings(), LOCAL)
    assert [f.name for f in findings] == [
        "webhook_secret",
        "exposed_endpoints",
        "dashboards_access",
        "replay_window",
        "rate_limit",
        "trust_proxy",
    ]
    assert all(f.ok for f in findings), [f for f in findings if not f.ok]
    assert "loopback" in _by_name(findings)["webhook_secret"].message


def test_an_exposed_gateway_without_a_secret_is_not_ok_and_says_what_to_set():
    findings = _by_name(security_posture(Settings(), {**LOCAL, "gateway": "0.0.0.0"}))
    assert not findings["webhook_secret"].ok and "AT_WEBHOOK_SECRET" in findings["webhook_secret"].message
    assert not findings["exposed_endpoints"].ok
    assert "gateway on 0.0.0.0" in findings["exposed_endpoints"].message
    assert "/webhook/" in findings["exposed_endpoints"].message


def test_an_exposed_gateway_with_a_strong_secret_passes_the_secret_check():
    findings = _by_name(security_posture(Settings(webhook_secret=STRONG), {**LOCAL, "gateway": "0.0.0.0"}))
    assert findings["webhook_secret"].ok
    assert STRONG not in " ".join(f.message for f in findings.values())


def test_a_short_secret_is_not_ok():
    findings = _by_name(security_posture(Settings(webhook_secret="short"), LOCAL))
    assert not findings["webhook_secret"].ok and "16" in findings["webhook_secret"].message
    assert "short" not in findings["webhook_secret"].message.replace("shorter", "")


def test_metrics_of_other_components_off_loopback_are_reported():
    findings = _by_name(security_posture(Settings(), {**LOCAL, "prometheus": "10.0.0.5", "orchestrator": "::"}))
    exposed = findings["exposed_endpoints"]
    assert not exposed.ok
    assert "orchestrator on ::" in exposed.message and "prometheus on 10.0.0.5" in exposed.message


@pytest.mark.parametrize(
    ("address", "anonymous", "ok"),
    [("127.0.0.1", True, True), ("0.0.0.0", True, False), ("0.0.0.0", False, True), (None, True, True)],
)
def test_anonymous_dashboards_are_only_a_problem_off_loopback(address, anonymous, ok):
    bound = {**LOCAL, **({"dashboards": address} if address else {})}
    finding = _by_name(security_posture(Settings(), bound, dashboards_anonymous=anonymous))["dashboards_access"]
    assert finding.ok is ok
    # Dashboards are judged here, not as a /metrics exposure.
    assert _by_name(security_posture(Settings(), bound))["exposed_endpoints"].ok


def test_replay_window_off_or_wider_than_dedup_is_not_ok():
    off = _by_name(security_posture(Settings(max_signal_age_s=0), LOCAL))["replay_window"]
    wide = _by_name(security_posture(Settings(max_signal_age_s=300), LOCAL))["replay_window"]
    assert not off.ok and "AT_MAX_SIGNAL_AGE_S" in off.message
    assert not wide.ok and "AT_DEDUP_WINDOW_S" in wide.message


def test_no_rate_limit_matters_only_when_exposed_and_a_trusted_proxy_needs_a_hidden_gateway():
    local = _by_name(security_posture(Settings(rate_limit_per_s=0), LOCAL))
    exposed = _by_name(security_posture(Settings(rate_limit_per_s=0, trust_proxy=True), {"gateway": "0.0.0.0"}))
    assert local["rate_limit"].ok
    assert not exposed["rate_limit"].ok
    assert not exposed["trust_proxy"].ok and "X-Forwarded-For" in exposed["trust_proxy"].message
