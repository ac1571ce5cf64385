"""The Grafana HTTP API calls verify makes: import a dashboard, read it back, probe a datasource.

Credentials come from the environment, never from options (they would land in shell
history): ``GRAFANA_TOKEN`` (a service-account token, sent as a Bearer token) or
``GRAFANA_USER``/``GRAFANA_PASSWORD`` (basic auth; the user defaults to ``admin``,
as in the specification's ``production_health_check.sh``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from agentic_trading.errors import AgenticTradingError
from agentic_trading.verify.prometheus import describe_transport

IMPORT_MESSAGE = "imported by atctl verify"


class GrafanaError(AgenticTradingError):
    """Grafana refused or failed a request; the message names the call and the fix."""

    exit_code = 2


@dataclass(frozen=True)
class GrafanaAuth:
    token: str | None = None
    user: str | None = None
    password: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> GrafanaAuth:
        env = os.environ if env is None else env
        token = env.get("GRAFANA_TOKEN") or None
        password = env.get("GRAFANA_PASSWORD") or None
        user = env.get("GRAFANA_USER") or ("admin" if password else None)
        return cls(token=token, user=user, password=password)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def basic(self) -> tuple[str, str] | None:
        if self.token or self.user is None:
            return None
        return self.user, self.password or ""

    def describe(self) -> str:
        if self.token:
            return "the token in GRAFANA_TOKEN"
        if self.user:
            return f"user {self.user!r} (GRAFANA_USER/GRAFANA_PASSWORD)"
        return "no credentials (set GRAFANA_TOKEN, or GRAFANA_USER and GRAFANA_PASSWORD)"


class GrafanaClient:
    def __init__(self, base_url: str, http: httpx.Client, auth: GrafanaAuth | None = None):
        self.base_url = base_url.rstrip("/")
        self.http = http
        self.auth = auth or GrafanaAuth()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        url = f"{self.base_url}{path}"
        try:
            return self.http.request(method, url, headers=self.auth.headers(), auth=self.auth.basic(), **kwargs)
        except httpx.HTTPError as exc:
            raise GrafanaError(f"Grafana at {self.base_url} did not answer {method} {path}: {describe_transport(exc)}") from exc

    def _json(self, response: httpx.Response, what: str) -> dict[str, Any]:
        if response.status_code in (401, 403):
            raise GrafanaError(
                f"Grafana refused {what} (HTTP {response.status_code}) with {self.auth.describe()}: "
                "give credentials that may edit dashboards"
            )
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not response.is_success:
            message = body.get("message") if isinstance(body, dict) else None
            raise GrafanaError(f"Grafana refused {what}: HTTP {response.status_code} {message or response.text[:200]}")
        if not isinstance(body, dict):
            raise GrafanaError(f"Grafana answered {what} with {type(body).__name__}, not a JSON object")
        return body

    def import_dashboard(self, dashboard: dict[str, Any], folder_uid: str | None = None) -> dict[str, Any]:
        """Create or overwrite the dashboard (matched by uid); Grafana's answer (uid, url, version)."""
        body: dict[str, Any] = {"dashboard": {**dashboard, "id": None}, "overwrite": True, "message": IMPORT_MESSAGE}
        if folder_uid:
            body["folderUid"] = folder_uid
        uid = dashboard.get("uid", "?")
        answer = self._json(self._request("POST", "/api/dashboards/db", json=body), f"importing dashboard {uid}")
        if answer.get("status") != "success":
            raise GrafanaError(f"Grafana did not import dashboard {uid}: {answer}")
        return answer

    def dashboard(self, uid: str) -> dict[str, Any]:
        answer = self._json(self._request("GET", f"/api/dashboards/uid/{uid}"), f"reading dashboard {uid}")
        return dict(answer.get("dashboard") or {})

    def datasource(self, uid: str) -> dict[str, Any]:
        return self._json(self._request("GET", f"/api/datasources/uid/{uid}"), f"reading datasource {uid}")

    def datasource_health(self, uid: str, path: str = "/-/healthy") -> tuple[bool, str, str]:
        """Probe ``path`` of the datasource through Grafana's proxy: (healthy, what was seen, URL path used).

        Uses the uid route (Grafana 9+), and the numeric id route of the specification's
        health check on Grafanas without it.
        """
        proxy_path = f"/api/datasources/proxy/uid/{uid}{path}"
        response = self._request("GET", proxy_path)
        if response.status_code == 404:
            numeric_id = self.datasource(uid).get("id")
            proxy_path = f"/api/datasources/proxy/{numeric_id}{path}"
            response = self._request("GET", proxy_path)
        if response.status_code in (401, 403):
            raise GrafanaError(f"Grafana refused {proxy_path} (HTTP {response.status_code}) with {self.auth.describe()}")
        return response.is_success, f"HTTP {response.status_code}", proxy_path
