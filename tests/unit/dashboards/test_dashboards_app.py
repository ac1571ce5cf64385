"""The viewer over HTTP, in process: Grafana's URLs, the login, read-only, the Prometheus proxy."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from agentic_trading.dashboards.app import DashboardsApp
from agentic_trading.dashboards.auth import COOKIE, Sessions
from agentic_trading.dashboards.library import default_dashboards_dir, read_dashboards
from agentic_trading.dashboards.proxy import PrometheusProxy


class FakePrometheus(httpx.AsyncBaseTransport):
    """Prometheus's HTTP API as far as the proxy needs it: answers, and remembers what was asked."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if "broken" in str(request.url):
            return httpx.Response(400, json={"status": "error", "errorType": "bad_data", "error": "parse error"})
        return httpx.Response(200, json={"status": "success", "data": {"resultType": "vector", "result": []}})


def make_client(password: str | None) -> tuple[httpx.AsyncClient, FakePrometheus]:
    prometheus = FakePrometheus()
    proxy = PrometheusProxy("http://prometheus.test:9090")
    proxy._client = httpx.AsyncClient(transport=prometheus)
    app = DashboardsApp(read_dashboards(default_dashboards_dir()), proxy, Sessions(password))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://viewer"), prometheus


@pytest.fixture
async def anonymous():
    client, prometheus = make_client(None)
    async with client:
        yield client, prometheus


@pytest.fixture
async def protected():
    client, _ = make_client("s3cret-password")
    async with client:
        yield client


async def test_grafana_urls_answer(anonymous):
    client, _ = anonymous
    assert (await client.get("/d/gateway-001")).status_code == 200
    assert (await client.get("/d/gateway-001/agentic-trading-gateway?from=now-15m&to=now&refresh=5s")).status_code == 200
    home = await client.get("/")
    assert 'data-testid="dashboard"' in home.text
    for uid in ("gateway-001", "agents-001", "pipeline-001", "infrastructure-001"):
        assert f'href="/d/{uid}"' in home.text


async def test_the_dashboard_json_is_served_unchanged(anonymous):
    client, _ = anonymous
    body = (await client.get("/api/dashboards/uid/agents-001")).json()
    on_disk = json.loads((default_dashboards_dir() / "agents.json").read_text())
    assert body["dashboard"] == on_disk
    assert body["meta"]["file"] == "agents.json"
    search = (await client.get("/api/search")).json()
    assert {hit["uid"] for hit in search} == {"gateway-001", "agents-001", "pipeline-001", "infrastructure-001"}


async def test_unknown_dashboards_are_404_naming_what_exists(anonymous):
    client, _ = anonymous
    assert (await client.get("/d/nope")).status_code == 404
    answer = await client.get("/api/dashboards/uid/nope")
    assert answer.status_code == 404
    assert answer.json()["errors"][0]["field"] == "uid" and "gateway-001" in answer.json()["errors"][0]["message"]


async def test_read_only(anonymous):
    client, _ = anonymous
    for method in ("POST", "PUT", "DELETE"):
        answer = await client.request(method, "/api/dashboards/uid/agents-001")
        assert answer.status_code == 405 and answer.json()["errors"][0]["field"] == "method"


async def test_the_proxy_forwards_read_queries_and_passes_errors_through(anonymous):
    client, prometheus = anonymous
    ok = await client.get("/api/datasources/proxy/uid/prometheus/api/v1/query_range?query=up&start=1&end=2&step=1")
    assert ok.status_code == 200 and ok.json()["status"] == "success"
    assert str(prometheus.requests[-1].url) == "http://prometheus.test:9090/api/v1/query_range?query=up&start=1&end=2&step=1"
    broken = await client.get("/api/datasources/proxy/uid/prometheus/api/v1/query?query=broken(")
    assert broken.status_code == 400 and broken.json()["error"] == "parse error"
    values = await client.get("/api/datasources/proxy/uid/prometheus/api/v1/label/agent_type/values")
    assert values.status_code == 200


async def test_the_proxy_refuses_what_is_not_a_read_endpoint(anonymous):
    client, prometheus = anonymous
    before = len(prometheus.requests)
    for path in ("/api/v1/admin/tsdb/delete_series", "/-/quit", "/api/v1/../../-/quit", "/api/v1/label/a-b/values"):
        answer = await client.get(f"/api/datasources/proxy/uid/prometheus{path}")
        assert answer.status_code == 404, path
    assert (await client.get("/api/datasources/proxy/uid/other/api/v1/query?query=up")).status_code == 404
    assert len(prometheus.requests) == before


async def test_static_files_and_no_path_escape(anonymous):
    client, _ = anonymous
    script = await client.get("/public/dashboards.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert (await client.get("/public/vendor/uplot/uPlot.iife.min.js")).status_code == 200
    assert (await client.get("/public/../app.py")).status_code == 404
    assert (await client.get("/public/%2e%2e/app.py")).status_code == 404


async def test_with_a_password_everything_but_login_and_health_asks_for_it(protected):
    assert (await protected.get("/healthz")).status_code == 200
    assert (await protected.get("/login")).status_code == 200
    page = await protected.get("/d/gateway-001?from=now-1h")
    assert page.status_code == 302 and page.headers["location"].startswith("/login?next=%2Fd%2Fgateway-001")
    api = await protected.get("/api/dashboards/uid/gateway-001")
    assert api.status_code == 401 and api.json()["errors"][0]["field"] == "session"
    proxied = await protected.get("/api/datasources/proxy/uid/prometheus/api/v1/query?query=up")
    assert proxied.status_code == 401


async def test_logging_in_with_the_form(protected):
    wrong = await protected.post("/login", data={"user": "admin", "password": "nope", "next": "/d/agents-001"})
    assert wrong.status_code == 302 and wrong.headers["location"].startswith("/login?failed=1")
    assert COOKIE not in wrong.headers.get("set-cookie", "")
    right = await protected.post("/login", data={"user": "admin", "password": "s3cret-password", "next": "/d/agents-001"})
    assert right.status_code == 302 and right.headers["location"] == "/d/agents-001"
    assert "HttpOnly" in right.headers["set-cookie"]
    cookie = right.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    protected.cookies.clear()
    tampered = cookie[:-1] + ("1" if cookie[-1] != "1" else "2")
    assert (await protected.get("/api/search", headers={"cookie": f"{COOKIE}={cookie}"})).status_code == 200
    assert (await protected.get("/api/search", headers={"cookie": f"{COOKIE}={tampered}"})).status_code == 401


async def test_login_redirects_stay_on_this_server(protected):
    answer = await protected.post("/login", data={"user": "admin", "password": "s3cret-password", "next": "//evil.example/x"})
    assert answer.headers["location"] == "/"


def test_a_dashboard_without_uid_is_refused_naming_the_file(tmp_path: Path):
    (tmp_path / "a.json").write_text('{"title": "x", "panels": []}')
    with pytest.raises(Exception, match="a.json: no uid"):
        read_dashboards(tmp_path)
    (tmp_path / "a.json").write_text('{"uid": "x",\n "panels": [}')
    with pytest.raises(Exception, match=r"a.json:2: not valid JSON"):
        read_dashboards(tmp_path)
