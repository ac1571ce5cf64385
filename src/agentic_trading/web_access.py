"""How atctl and the services reach a secured Prometheus and Alertmanager: basic auth and the stack's CA.

Off loopback (``AT_HOST``/``AT_WEB_HOST``), or with ``AT_WEB_AUTH=true``, Prometheus and
Alertmanager run behind ``--web.config.file``: HTTPS with a certificate signed by the stack's
own CA and basic auth (``stack/web_tls.py`` generates both into ``<state_dir>/secrets/``).
Every client of theirs (``atctl status``, ``verify``, ``alerts``, ``summary``, the dashboards
viewer) builds its ``httpx`` client with :func:`web_client_options`, so nobody types a
credential. A deployment elsewhere gives them as settings instead: ``AT_WEB_USER``,
``AT_WEB_PASSWORD`` and ``AT_WEB_CA_FILE`` win over the local stack's files.

The password is sent only to Prometheus' and Alertmanager's own origins
(:class:`OriginAuth`), never to the gateway or a Grafana sharing the same client.
This module only reads; it sits below services, ``verify`` and ``stack`` alike.
"""

from __future__ import annotations

import base64
import ssl
from collections.abc import Generator, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx

from agentic_trading.credentials import read_stack_secret, secret_file
from agentic_trading.settings import WEB_COMPONENTS, Settings

# Files in <state_dir>/secrets/ (stack/web_tls.py writes them).
WEB_ADMIN_SECRET = "web_admin"  # password of AT_WEB_USER at Prometheus and Alertmanager
RECEIVER_SECRET = "web_receiver"  # Alertmanager's password at the alert receiver's POST /alerts
RECEIVER_USER = "alertmanager"
CA_CERT = "ca.pem"


@dataclass(frozen=True)
class WebCredentials:
    """Who to be at Prometheus and Alertmanager, and which CA to trust (None: the system's)."""

    user: str
    password: str
    ca_file: Path | None


def web_credentials(settings: Settings) -> WebCredentials | None:
    """The credentials for the stack's Prometheus and Alertmanager, or None when none are known.

    ``AT_WEB_PASSWORD`` wins; otherwise a secured local stack's ``secrets/web_admin``.
    """
    if settings.web_password is not None:
        password: str | None = settings.web_password.get_secret_value()
    elif settings.web_secured:
        password = read_stack_secret(settings.state_dir, WEB_ADMIN_SECRET)
    else:
        password = None
    if not password:
        return None
    return WebCredentials(settings.web_user, password, ca_file(settings))


def ca_file(settings: Settings) -> Path | None:
    """The CA to trust for Prometheus' and Alertmanager's TLS: AT_WEB_CA_FILE, else the stack's, if any."""
    if settings.web_ca_file is not None:
        return settings.web_ca_file
    local = secret_file(settings.state_dir, CA_CERT)
    return local if local.is_file() else None


def _origin(url: httpx.URL | str) -> tuple[str, str, int | None]:
    url = httpx.URL(url)
    default = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, url.port or default


class OriginAuth(httpx.Auth):
    """Basic auth sent to the given origins only (scheme, host, port); other requests go as they are."""

    def __init__(self, origins: Iterable[str], user: str, password: str):
        self._origins = {_origin(url) for url in origins}
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        self._header = f"Basic {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if _origin(request.url) in self._origins and "Authorization" not in request.headers:
            request.headers["Authorization"] = self._header
        yield request


@lru_cache(maxsize=8)
def ssl_context(ca: str | None) -> ssl.SSLContext:
    """The system's trusted CAs plus ``ca`` (the stack's own), for every HTTPS request."""
    context = ssl.create_default_context()
    if ca is not None:
        context.load_verify_locations(cafile=ca)
    return context


def web_client_options(settings: Settings, *urls: str | None) -> dict[str, Any]:
    """``httpx.Client`` keyword arguments that reach the stack's Prometheus and Alertmanager.

    ``urls`` are further origins that get the credentials (``atctl verify --prometheus-url``).
    Empty when nothing is secured and no credentials are given: the loopback default.
    """
    credentials = web_credentials(settings)
    if credentials is None:
        ca = ca_file(settings) if settings.web_secured else None
        return {"verify": ssl_context(str(ca))} if ca is not None else {}
    origins = [settings.url(component) for component in WEB_COMPONENTS] + [url for url in urls if url]
    ca = str(credentials.ca_file) if credentials.ca_file is not None else None
    return {"auth": OriginAuth(origins, credentials.user, credentials.password), "verify": ssl_context(ca)}
