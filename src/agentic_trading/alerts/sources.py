"""Ask Prometheus, Alertmanager and the alert receiver what is alerting (HTTP, by URL).

Every call has a timeout and raises :class:`AlertSourceError` naming the endpoint and
what to check; a caller that can show the rest without one source catches it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from agentic_trading.errors import AgenticTradingError, not_answering
from agentic_trading.settings import Settings
from agentic_trading.web_access import web_client_options

TIMEOUT_S = 3.0


class AlertSourceError(AgenticTradingError):
    """An endpoint did not answer as expected; the message names it and what to check."""

    exit_code = 2


@dataclass(frozen=True)
class AlertSources:
    """Base URLs of the three places alerts live."""

    prometheus: str
    alertmanager: str
    receiver: str
    # A secured Prometheus' and Alertmanager's credentials and CA (web_access.web_client_options).
    http_options: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, settings: Settings) -> AlertSources:
        options = web_client_options(settings)
        return cls(settings.url("prometheus"), settings.url("alertmanager"), settings.url("receiver"), options)


class AlertClient:
    """Reads (and silences) alerts; use as a context manager to close the connection pool."""

    def __init__(self, sources: AlertSources, timeout_s: float = TIMEOUT_S):
        self.sources = sources
        # trust_env=False: a proxy from the environment must never sit between us and loopback.
        self._http = httpx.Client(timeout=timeout_s, trust_env=False, **sources.http_options)

    def __enter__(self) -> AlertClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def prometheus_alerts(self) -> list[dict[str, Any]]:
        """Pending and firing alerts (``GET /api/v1/alerts``)."""
        body = self._get(self.sources.prometheus + "/api/v1/alerts", "Prometheus")
        return list((body.get("data") or {}).get("alerts") or [])

    def alertmanager_alerts(self) -> list[dict[str, Any]]:
        """Alerts Alertmanager holds, with silenced/inhibited state (``GET /api/v2/alerts``)."""
        return list(self._get(self.sources.alertmanager + "/api/v2/alerts", "Alertmanager"))

    def silences(self) -> list[dict[str, Any]]:
        return list(self._get(self.sources.alertmanager + "/api/v2/silences", "Alertmanager"))

    def notifications(self, since: float) -> list[dict[str, Any]]:
        """What the receiver got since ``since`` (Unix time), oldest first."""
        body = self._get(self.sources.receiver + "/notifications", "the alert receiver", params={"since": since})
        return list(body.get("notifications") or [])

    def watchdog(self) -> dict[str, Any]:
        """The receiver's dead man's switch watcher (``GET /watchdog``)."""
        return dict(self._get(self.sources.receiver + "/watchdog", "the alert receiver"))

    def create_silence(self, request: dict[str, Any]) -> str:
        """Create a silence; returns its id."""
        response = self._post_to_alertmanager("/api/v2/silences", request, "the silence")
        return str(response.json().get("silenceID", ""))

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        """Send alerts to Alertmanager as Prometheus does (``POST /api/v2/alerts``)."""
        self._post_to_alertmanager("/api/v2/alerts", alerts, "the alerts")

    def _post_to_alertmanager(self, path: str, body: Any, what: str) -> httpx.Response:
        url = self.sources.alertmanager + path
        try:
            response = self._http.post(url, json=body)
        except httpx.HTTPError as error:
            raise AlertSourceError(not_answering("Alertmanager", url, str(error))) from error
        if response.status_code != 200:
            raise AlertSourceError(f"Alertmanager refused {what} (HTTP {response.status_code}): {response.text.strip()}")
        return response

    def _get(self, url: str, what: str, params: dict[str, Any] | None = None) -> Any:
        try:
            response = self._http.get(url, params=params)
            response.raise_for_status()
            return response.json()
        except httpx.HTTPStatusError as error:
            raise AlertSourceError(f"{what} at {url} answered HTTP {error.response.status_code}") from error
        except (httpx.HTTPError, ValueError) as error:
            raise AlertSourceError(not_answering(what, url, type(error).__name__)) from error
