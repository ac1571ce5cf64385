"""A small client for the Prometheus HTTP API: the calls the checks make, and nothing else.

Transport failures raise :class:`httpx.HTTPError` (the runner records them as failed
checks); a query Prometheus refuses raises :class:`PromQLError` with its message.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from agentic_trading.verify.errors import HttpCheckError, PromQLError, StackUnreachableError


@dataclass(frozen=True)
class Sample:
    """One series of an instant vector: its labels (``__name__`` included when kept) and value."""

    labels: dict[str, str]
    value: float

    def describe(self) -> str:
        """``name{a="1", b="2"}``, as Prometheus writes a series."""
        labels = {k: v for k, v in self.labels.items() if k != "__name__"}
        inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        return f"{self.labels.get('__name__', '')}{{{inner}}}"


class PrometheusClient:
    def __init__(self, base_url: str, http: httpx.Client):
        self.base_url = base_url.rstrip("/")
        self.http = http

    def check_reachable(self) -> None:
        """Raise :class:`StackUnreachableError` unless Prometheus answers its API."""
        try:
            response = self.http.get(f"{self.base_url}/api/v1/status/buildinfo")
        except httpx.HTTPError as exc:
            raise StackUnreachableError(self.base_url, describe_transport(exc)) from exc
        if response.status_code != 200:
            raise StackUnreachableError(self.base_url, f"HTTP {response.status_code} from /api/v1/status/buildinfo")

    def _get(self, path: str, params: Any = None) -> Any:
        response = self.http.get(f"{self.base_url}{path}", params=params)
        return _data(response, path, params)

    def query(self, expr: str, at: float | None = None) -> list[Sample]:
        """An instant query; scalars come back as one unlabelled sample."""
        params: dict[str, Any] = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        response = self.http.post(f"{self.base_url}/api/v1/query", data=params)
        data = _data(response, "/api/v1/query", params, query=expr)
        kind, result = data["resultType"], data["result"]
        if kind == "vector":
            return [Sample(item["metric"], float(item["value"][1])) for item in result]
        if kind == "scalar":
            return [Sample({}, float(result[1]))]
        raise PromQLError(expr, f"expected an instant vector, got a {kind}")

    def query_value(self, expr: str) -> float | None:
        samples = self.query(expr)
        return samples[0].value if samples else None

    def targets(self) -> list[dict[str, Any]]:
        return list(self._get("/api/v1/targets", {"state": "active"})["activeTargets"])

    def label_values(self, label: str, match: str | None = None) -> list[str]:
        params: dict[str, Any] = {"start": f"{time.time() - 3600:.0f}"}
        if match:
            params["match[]"] = match
        return list(self._get(f"/api/v1/label/{label}/values", params))

    def alertmanagers(self) -> list[str]:
        return [item["url"] for item in self._get("/api/v1/alertmanagers")["activeAlertmanagers"]]

    def rules(self) -> list[dict[str, Any]]:
        return list(self._get("/api/v1/rules")["groups"])

    def alerts(self) -> list[dict[str, Any]]:
        """Pending and firing alerts as the rule manager holds them now (``/api/v1/alerts``)."""
        return list(self._get("/api/v1/alerts")["alerts"])

    def started_at(self) -> float | None:
        """Unix time Prometheus (re)started, from /api/v1/status/runtimeinfo; None when it does not say."""
        try:
            start = self._get("/api/v1/status/runtimeinfo").get("startTime")
        except HttpCheckError:
            return None
        return parse_rfc3339(start) if start else None

    def endpoint_ok(self, path: str) -> tuple[bool, str]:
        """GET a plain endpoint (``/-/healthy``); (2xx?, what was seen)."""
        try:
            response = self.http.get(f"{self.base_url}{path}")
        except httpx.HTTPError as exc:
            return False, describe_transport(exc)
        return response.is_success, f"HTTP {response.status_code}"


def _data(response: httpx.Response, path: str, params: Any, query: str | None = None) -> Any:
    try:
        body = response.json()
    except ValueError:
        raise HttpCheckError(f"{response.request.url} answered HTTP {response.status_code}, not JSON") from None
    if body.get("status") != "success":
        error = f"{body.get('errorType', 'error')}: {body.get('error', 'no error message')}"
        if query is not None:
            raise PromQLError(query, error)
        raise HttpCheckError(f"{path} answered {error}")
    return body["data"]


def describe_transport(exc: httpx.HTTPError) -> str:
    """A short phrase for a transport failure (connection refused, no answer in time)."""
    if isinstance(exc, httpx.TimeoutException):
        return "no answer in time"
    if isinstance(exc, httpx.ConnectError):
        return "connection refused" if "refused" in str(exc).lower() else f"cannot connect: {exc}"
    return f"{type(exc).__name__}: {exc}"


def parse_rfc3339(text: str) -> float:
    """Unix time of Go's RFC 3339 timestamps (nanoseconds cut to what Python keeps)."""
    trimmed = re.sub(r"(\.\d{6})\d+", r"\1", text.strip()).replace("Z", "+00:00")
    return datetime.fromisoformat(trimmed).timestamp()
