"""Webhook authentication, pure: the secret field, the HMAC signature, constant-time comparisons."""

import hashlib
import hmac

import pytest

from agentic_trading.gateway import auth
from agentic_trading.gateway.auth import WebhookAuthenticator

SECRET = "correct horse battery staple"
BODY = b'{"instrument":"EURUSD","action":"buy"}'


@pytest.fixture
def authenticator() -> WebhookAuthenticator:
    return WebhookAuthenticator(SECRET)


def test_sign_is_the_hmac_sha256_a_sender_computes(authenticator):
    expected = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert authenticator.sign(BODY) == f"sha256={expected}"
    assert authenticator.check_signature(BODY, authenticator.sign(BODY).encode()) is None


@pytest.mark.parametrize(
    "header",
    [b"SHA256=" + hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest().upper().encode(), b"  sha256=%s  "],
)
def test_prefix_and_hex_case_and_surrounding_space_do_not_matter(authenticator, header):
    if b"%s" in header:
        header = header % hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest().encode()
    assert authenticator.check_signature(BODY, header) is None


def test_a_signature_of_another_body_or_key_is_refused(authenticator):
    other_body = WebhookAuthenticator(SECRET).sign(BODY + b" ").encode()
    other_key = WebhookAuthenticator(SECRET + "!").sign(BODY).encode()
    for header in (other_body, other_key):
        failure = authenticator.check_signature(BODY, header)
        assert failure is not None and failure.reason == "bad_signature" and failure.field == "X-Signature"


@pytest.mark.parametrize("header", [b"", b"sha256=", b"md5=abcd", b"sha256=zz", "sha256=é".encode("latin-1")])
def test_a_malformed_signature_is_refused_without_raising(authenticator, header):
    failure = authenticator.check_signature(BODY, header)
    assert failure is not None and failure.reason == "bad_signature"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({}, "missing"),
        ({"secret": None}, "missing"),
        ([1, 2], "missing"),
        ("text", "missing"),
        ({"secret": 42}, "wrong"),
        ({"secret": ["x"]}, "wrong"),
        ({"secret": SECRET + " "}, "wrong"),
        ({"secret": ""}, "wrong"),
        ({"secret": "\ud800"}, "wrong"),
    ],
)
def test_a_missing_or_wrong_secret_field_names_secret(authenticator, payload, reason):
    failure = authenticator.check_secret_field(payload)
    assert failure is not None and (failure.field, failure.reason) == ("secret", reason)
    assert SECRET not in failure.message


def test_the_right_secret_field_passes(authenticator):
    assert authenticator.check_secret_field({"secret": SECRET, "instrument": "EURUSD"}) is None


def test_every_comparison_is_constant_time(authenticator, monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((type(a), type(b)))
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    authenticator.check_secret_field({"secret": "guess"})
    authenticator.check_signature(BODY, b"sha256=" + b"0" * 64)
    assert calls == [(bytes, bytes), (bytes, bytes)]


def test_an_empty_secret_is_refused_at_construction():
    with pytest.raises(ValueError, match="AT_WEBHOOK_SECRET"):
        WebhookAuthenticator("")
