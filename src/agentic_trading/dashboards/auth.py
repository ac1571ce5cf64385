"""Who may look: one user ("admin") with ``AT_DASHBOARDS_PASSWORD``, remembered in a signed cookie.

Pure: nothing here does I/O. Without a password the viewer is anonymous, which the server
allows only on loopback (``password_required``); with one, every page and API call but
``/login``, ``/healthz`` and the static files asks for it, on loopback too. The cookie is an
HMAC over the user and an expiry with a key drawn at start-up, so a restart signs everyone
out and nothing secret is stored anywhere.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from agentic_trading.verify.posture import is_loopback

USER = "admin"
COOKIE = "at_dashboards_session"
SESSION_S = 12 * 3600


def password_required(host: str) -> bool:
    """Whether a server bound to ``host`` must refuse to run without a password."""
    return not is_loopback(host)


@dataclass
class Sessions:
    """Checks credentials and issues/verifies session cookies; ``password`` None means anonymous."""

    password: str | None
    key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    clock: Callable[[], float] = time.time

    @property
    def anonymous(self) -> bool:
        return self.password is None

    def credentials_ok(self, user: str, password: str) -> bool:
        if self.password is None:
            return True
        user_ok = hmac.compare_digest(user.encode(), USER.encode())
        password_ok = hmac.compare_digest(password.encode(), self.password.encode())
        return user_ok and password_ok

    def issue(self) -> str:
        expires = int(self.clock()) + SESSION_S
        payload = f"{USER}.{expires}"
        return f"{payload}.{self._sign(payload)}"

    def valid(self, cookie: str | None) -> bool:
        if self.password is None:
            return True
        if not cookie or cookie.count(".") != 2:
            return False
        user, expires, signature = cookie.split(".")
        if not hmac.compare_digest(signature, self._sign(f"{user}.{expires}")):
            return False
        return expires.isdigit() and int(expires) > self.clock()

    def _sign(self, payload: str) -> str:
        return hmac.new(self.key, payload.encode(), hashlib.sha256).hexdigest()


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path on this server only (never ``//evil`` or a URL)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
