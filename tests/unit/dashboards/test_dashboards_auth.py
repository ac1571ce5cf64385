"""Sessions: credentials in constant time, signed expiring cookies, anonymous only on loopback."""

from __future__ import annotations

import pytest

from agentic_trading.dashboards.auth import SESSION_S, Sessions, password_required, safe_next
from agentic_trading.dashboards.server import DashboardsConfigError, build_viewer
from agentic_trading.settings import Settings


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_cookies_are_signed_and_expire():
    clock = Clock()
    sessions = Sessions("pw", clock=clock)
    cookie = sessions.issue()
    assert sessions.valid(cookie)
    assert not Sessions("pw", clock=clock).valid(cookie), "another process's key must not verify it"
    user, expires, signature = cookie.split(".")
    assert not sessions.valid(f"{user}.{int(expires) + 3600}.{signature}")
    assert not sessions.valid(None) and not sessions.valid("garbage")
    clock.now += SESSION_S + 1
    assert not sessions.valid(cookie)


def test_credentials():
    sessions = Sessions("pw")
    assert sessions.credentials_ok("admin", "pw")
    assert not sessions.credentials_ok("admin", "PW") and not sessions.credentials_ok("root", "pw")
    assert Sessions(None).credentials_ok("anyone", "anything")


@pytest.mark.parametrize(("host", "required"), [("127.0.0.1", False), ("localhost", False), ("::1", False), ("0.0.0.0", True)])
def test_a_password_is_required_off_loopback(host: str, required: bool):
    assert password_required(host) is required


def test_the_viewer_refuses_to_listen_off_loopback_without_a_password():
    with pytest.raises(DashboardsConfigError, match="AT_DASHBOARDS_PASSWORD"):
        build_viewer(Settings(host="0.0.0.0"))
    assert not build_viewer(Settings(host="0.0.0.0", dashboards_password="long-enough-password")).sessions.anonymous


def test_an_empty_password_is_refused_at_start():
    with pytest.raises(ValueError, match="AT_DASHBOARDS_PASSWORD is set but empty"):
        Settings(dashboards_password=" ")


@pytest.mark.parametrize(("target", "expected"), [("/d/x?a=1", "/d/x?a=1"), ("//evil", "/"), ("https://evil", "/"), (None, "/")])
def test_safe_next(target, expected):
    assert safe_next(target) == expected
