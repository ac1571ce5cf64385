"""Prometheus behind the viewer's own origin: Grafana's datasource proxy path, read-only.

The page asks ``/api/datasources/proxy/uid/<datasource>/api/v1/query_range?…`` as it would
ask Grafana, and the server forwards the GET to the stack's Prometheus unchanged, so the
browser needs no CORS and never learns Prometheus's address. Only the read endpoints the
page uses are forwarded; Prometheus's own answers (errors included) pass through as they
are, so a broken query shows Prometheus's message inside its panel.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import httpx
import orjson

from agentic_trading.errors import not_answering

PROXY_PREFIX = "/api/datasources/proxy/uid/"
# The read-only Prometheus HTTP API paths the page may ask for.
_ALLOWED = re.compile(r"^/api/v1/(query|query_range|labels|series|label/[A-Za-z_][A-Za-z0-9_]*/values)$")
TIMEOUT_S = 15.0


class ProxyAnswer:
    """What to send back: a status, a JSON body (bytes) and Prometheus's content type."""

    def __init__(self, status: int, body: bytes, content_type: str = "application/json"):
        self.status = status
        self.body = body
        self.content_type = content_type


def split_proxy_path(path: str) -> tuple[str, str] | None:
    """``/api/datasources/proxy/uid/<uid>/api/v1/query`` -> (uid, ``/api/v1/query``); None if not a proxy path."""
    if not path.startswith(PROXY_PREFIX):
        return None
    rest = path[len(PROXY_PREFIX) :]
    uid, slash, api_path = rest.partition("/")
    if not uid or not slash:
        return None
    return uid, "/" + api_path


def forwardable(api_path: str) -> bool:
    return _ALLOWED.match(api_path) is not None


def _error(status: int, error_type: str, message: str) -> ProxyAnswer:
    return ProxyAnswer(status, orjson.dumps({"status": "error", "errorType": error_type, "error": message}))


class PrometheusProxy:
    """Forwards allowed GETs to one Prometheus (``base_url``) for the datasource uids it serves."""

    def __init__(
        self,
        base_url: str,
        datasource_uids: frozenset[str] = frozenset({"prometheus"}),
        http_options: Mapping[str, Any] | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.datasource_uids = datasource_uids
        # trust_env=False: a proxy from the environment must never sit between us and loopback.
        # http_options: a secured Prometheus' credentials and CA (web_access.web_client_options).
        self._client = httpx.AsyncClient(timeout=TIMEOUT_S, trust_env=False, **(http_options or {}))

    async def forward(self, uid: str, api_path: str, query_string: bytes) -> ProxyAnswer:
        if uid not in self.datasource_uids:
            known = ", ".join(sorted(self.datasource_uids))
            return _error(404, "not_found", f"no datasource with uid {uid!r}; this viewer serves: {known}")
        if not forwardable(api_path):
            return _error(404, "not_found", f"{api_path} is not a read endpoint this viewer forwards")
        url = f"{self.base_url}{api_path}"
        if query_string:
            url += "?" + query_string.decode("latin-1")
        try:
            response = await self._client.get(url)
        except httpx.TimeoutException:
            return _error(504, "timeout", f"Prometheus at {self.base_url} did not answer within {TIMEOUT_S:g} s")
        except httpx.HTTPError as exc:
            return _error(502, "unavailable", not_answering("Prometheus", self.base_url, type(exc).__name__))
        content_type = response.headers.get("content-type", "application/json")
        return ProxyAnswer(response.status_code, response.content, content_type)

    async def close(self) -> None:
        await self._client.aclose()
