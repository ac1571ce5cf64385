"""A fake deployment (Prometheus and gateway behind httpx.MockTransport): checks run end to end without a stack.

A module of its own (not conftest.py): several conftest.py files share that name, so
`from conftest import ...` would pick whichever was loaded last.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import httpx

PROMETHEUS = "http://prometheus.test:9090"
GATEWAY = "http://gateway.test:8001"


def vector(*series: tuple[dict[str, str], float]) -> list[dict[str, Any]]:
    return [{"metric": labels, "value": [1700000000.0, str(value)]} for labels, value in series]


def target(job: str, instance: str, health: str = "up", service: str | None = None, error: str = "") -> dict[str, Any]:
    labels = {"job": job, "instance": instance}
    if service:
        labels["service"] = service
    return {
        "labels": labels,
        "scrapeUrl": f"http://{instance}/metrics",
        "health": health,
        "lastError": error,
        "scrapeInterval": "1s",
    }


class FakePrometheus:
    """Answers the API calls verify makes; unknown queries return an empty vector."""

    def __init__(self) -> None:
        self.results: dict[str, list[dict[str, Any]]] = {}
        self.errors: dict[str, str] = {}
        self.targets: list[dict[str, Any]] = [target("gateway", "gateway.test:8001", service="gateway")]
        self.label_values: dict[str, list[str]] = {}
        self.alertmanagers: list[str] = ["http://127.0.0.1:9093/api/v2/alerts"]
        self.rules: list[dict[str, Any]] = []
        self.alerts: list[dict[str, Any]] = []  # /api/v1/alerts
        self.queries: list[str] = []
        self.reachable = True
        self.start_time: str | None = None  # runtimeinfo's startTime, e.g. "2026-01-15T10:30:00.123456789Z"

    def handle(self, request: httpx.Request) -> httpx.Response:
        if not self.reachable:
            raise httpx.ConnectError("connection refused", request=request)
        path = request.url.path
        if path == "/api/v1/status/buildinfo":
            return _ok({"version": "2.42.0"})
        if path == "/api/v1/query":
            form = parse_qs(request.content.decode()) if request.method == "POST" else dict(request.url.params.multi_items())
            query = form["query"][0] if isinstance(form["query"], list) else form["query"]
            self.queries.append(query)
            if query in self.errors:
                return httpx.Response(400, json={"status": "error", "errorType": "bad_data", "error": self.errors[query]})
            result = self.results.get(query, [])
            return _ok({"resultType": "vector", "result": result() if callable(result) else result})
        if path == "/api/v1/targets":
            return _ok({"activeTargets": self.targets, "droppedTargets": []})
        if path.startswith("/api/v1/label/"):
            return _ok(self.label_values.get(path.split("/")[4], []))
        if path == "/api/v1/alertmanagers":
            return _ok({"activeAlertmanagers": [{"url": url} for url in self.alertmanagers], "droppedAlertmanagers": []})
        if path == "/api/v1/status/runtimeinfo" and self.start_time:
            return _ok({"startTime": self.start_time})
        if path == "/api/v1/rules":
            return _ok({"groups": self.rules})
        if path == "/api/v1/alerts":
            return _ok({"alerts": self.alerts})
        if path in ("/-/healthy", "/-/ready"):
            return httpx.Response(200, text="ok")
        return httpx.Response(404, text="not found")


class FakeGateway:
    """/webhook/test counts into gateway_webhooks_total; ``miscount`` adds extra counts per webhook."""

    def __init__(self) -> None:
        self.count = 5.0
        self.miscount = 0.0
        self.extra_once = 0.0  # another sender's posts, counted once with the next webhook
        self.posted: list[httpx.Request] = []
        self.exposition_extra = ""

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/webhook/test" and request.method == "POST":
            self.posted.append(request)
            self.count += 1 + self.miscount + self.extra_once
            self.extra_once = 0.0
            return httpx.Response(200, json={"status": "accepted"})
        if request.url.path == "/metrics":
            text = (
                "# HELP gateway_webhooks_total Webhooks received\n# TYPE gateway_webhooks_total counter\n"
                f'gateway_webhooks_total{{endpoint="test",status="200"}} {self.count}\n'
                'gateway_webhooks_total{endpoint="tradingview",status="200"} 40.0\n' + self.exposition_extra
            )
            return httpx.Response(200, text=text)
        return httpx.Response(404)


class FakeDeployment:
    def __init__(self) -> None:
        self.prometheus = FakePrometheus()
        self.gateway = FakeGateway()

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "prometheus.test":
            return self.prometheus.handle(request)
        if request.url.host == "gateway.test":
            return self.gateway.handle(request)
        raise httpx.ConnectError("connection refused", request=request)


def _ok(data: Any) -> httpx.Response:
    return httpx.Response(200, json={"status": "success", "data": data})
