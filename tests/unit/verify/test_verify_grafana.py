"""Grafana import and datasource health against a tiny fake Grafana (a real HTTP server on loopback)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from agentic_trading.observability.dashboards import dashboard_paths, load_dashboard
from agentic_trading.verify import Endpoints, Sources, Status, VerifyContext
from agentic_trading.verify.dashboards import imports_into_grafana, plan
from agentic_trading.verify.grafana import GrafanaAuth, GrafanaClient, GrafanaError
from agentic_trading.verify.health import datasource_healthy

TOKEN = "glsa_test_token"
BASIC = "Basic " + base64.b64encode(b"admin:s3cret").decode()


class FakeGrafana:
    def __init__(self) -> None:
        self.dashboards: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, str | None]] = []
        self.uid_proxy = True  # Grafana 9+: /api/datasources/proxy/uid/<uid>/...
        self.datasource_healthy = True
        self.drop_panels = False


@pytest.fixture
def grafana() -> Iterator[tuple[str, FakeGrafana]]:
    state = FakeGrafana()

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode() if not isinstance(body, bytes) else body
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _authorised(self) -> bool:
            auth = self.headers.get("Authorization")
            state.requests.append((self.command, self.path, auth))
            if auth in (f"Bearer {TOKEN}", BASIC):
                return True
            self._reply(401, {"message": "Unauthorized"})
            return False

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            if not self._authorised():
                return
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            dashboard = body["dashboard"]
            if self.path != "/api/dashboards/db" or not body.get("overwrite"):
                self._reply(400, {"message": "bad request"})
                return
            if not dashboard.get("title"):
                self._reply(400, {"message": "Dashboard title cannot be empty"})
                return
            stored = dict(dashboard)
            if state.drop_panels:
                stored["panels"] = stored["panels"][:1]
            previous = state.dashboards.get(dashboard["uid"], {}).get("version", 0)
            stored["version"] = previous + 1
            state.dashboards[dashboard["uid"]] = stored
            uid = dashboard["uid"]
            self._reply(200, {"status": "success", "uid": uid, "url": f"/d/{uid}/x", "version": stored["version"], "id": 7})

        def do_GET(self) -> None:  # noqa: N802
            if not self._authorised():
                return
            if self.path.startswith("/api/dashboards/uid/"):
                uid = self.path.rsplit("/", 1)[1]
                if uid in state.dashboards:
                    self._reply(200, {"dashboard": state.dashboards[uid], "meta": {}})
                else:
                    self._reply(404, {"message": "Dashboard not found"})
            elif self.path == "/api/datasources/uid/prometheus":
                self._reply(200, {"id": 1, "uid": "prometheus", "type": "prometheus"})
            elif self.path == "/api/datasources/proxy/uid/prometheus/-/healthy" and state.uid_proxy:
                self._reply(200 if state.datasource_healthy else 502, b"Prometheus Server is Healthy.\n")
            elif self.path == "/api/datasources/proxy/1/-/healthy":
                self._reply(200 if state.datasource_healthy else 502, b"Prometheus Server is Healthy.\n")
            else:
                self._reply(404, {"message": "Not found"})

        def log_message(self, format: str, *args: Any) -> None:
            return  # every request is recorded in state.requests

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()


def _ctx(url: str, auth: GrafanaAuth) -> VerifyContext:
    endpoints = Endpoints(prometheus="http://prometheus.test:9090", alertmanager="http://am.test:9093", grafana=url)
    return VerifyContext(endpoints, Sources.defaults(), httpx.Client(timeout=5), grafana_auth=auth)


DASHBOARDS = [load_dashboard(path) for path in dashboard_paths(Sources.defaults().dashboards_dir)]


def test_credentials_come_from_the_environment() -> None:
    assert GrafanaAuth.from_env({"GRAFANA_TOKEN": "t"}).headers() == {"Authorization": "Bearer t"}
    assert GrafanaAuth.from_env({"GRAFANA_PASSWORD": "p"}).basic() == ("admin", "p")
    assert GrafanaAuth.from_env({"GRAFANA_USER": "ops", "GRAFANA_PASSWORD": "p"}).basic() == ("ops", "p")
    none = GrafanaAuth.from_env({})
    assert none.headers() == {} and none.basic() is None and "set GRAFANA_TOKEN" in none.describe()


@pytest.mark.parametrize("auth", [GrafanaAuth(token=TOKEN), GrafanaAuth(user="admin", password="s3cret")], ids=["token", "basic"])
def test_every_dashboard_imports_and_reads_back_whole(grafana: tuple[str, FakeGrafana], auth: GrafanaAuth) -> None:
    url, state = grafana
    with _ctx(url, auth) as ctx:
        for dashboard in DASHBOARDS:
            outcome = imports_into_grafana(ctx, dashboard)
            assert outcome.status is Status.passed, outcome.message
            assert outcome.message == f"imported as version 1: {url}/d/{dashboard.uid}/x"
    assert set(state.dashboards) == {d.uid for d in DASHBOARDS}
    assert all(stored["id"] is None for stored in state.dashboards.values())
    assert {auth_header for _, _, auth_header in state.requests} == {f"Bearer {TOKEN}" if auth.token else BASIC}


def test_importing_again_overwrites(grafana: tuple[str, FakeGrafana]) -> None:
    url, state = grafana
    with _ctx(url, GrafanaAuth(token=TOKEN)) as ctx:
        imports_into_grafana(ctx, DASHBOARDS[0])
        assert imports_into_grafana(ctx, DASHBOARDS[0]).message.startswith("imported as version 2")


def test_wrong_credentials_say_which_were_used_and_what_to_do(grafana: tuple[str, FakeGrafana]) -> None:
    url, _ = grafana
    with _ctx(url, GrafanaAuth(user="admin", password="wrong")) as ctx:
        outcome = imports_into_grafana(ctx, DASHBOARDS[0])
    assert outcome.status is Status.failed
    assert "HTTP 401" in outcome.message and "user 'admin' (GRAFANA_USER/GRAFANA_PASSWORD)" in outcome.message


def test_grafanas_refusal_message_is_reported(grafana: tuple[str, FakeGrafana]) -> None:
    url, _ = grafana
    client = GrafanaClient(url, httpx.Client(timeout=5), GrafanaAuth(token=TOKEN))
    with pytest.raises(GrafanaError, match="HTTP 400 Dashboard title cannot be empty"):
        client.import_dashboard({"uid": "x", "title": "", "panels": []})


def test_a_dashboard_stored_incomplete_fails(grafana: tuple[str, FakeGrafana]) -> None:
    url, state = grafana
    state.drop_panels = True
    with _ctx(url, GrafanaAuth(token=TOKEN)) as ctx:
        outcome = imports_into_grafana(ctx, DASHBOARDS[0])
    assert outcome.status is Status.failed and outcome.message.startswith("Grafana stored 1 panels of")


def test_an_unreachable_grafana_fails_with_its_url() -> None:
    with _ctx("http://127.0.0.1:9", GrafanaAuth(token=TOKEN)) as ctx:
        outcome = imports_into_grafana(ctx, DASHBOARDS[0])
    assert outcome.status is Status.failed and "Grafana at http://127.0.0.1:9 did not answer" in outcome.message


def test_with_a_grafana_url_there_is_one_import_check_per_dashboard(grafana: tuple[str, FakeGrafana]) -> None:
    url, _ = grafana
    with _ctx(url, GrafanaAuth(token=TOKEN)) as ctx:
        names = [check.name for check in plan(ctx) if check.name.startswith("grafana import")]
    assert names == [f"grafana import {d.uid}" for d in DASHBOARDS]


@pytest.mark.parametrize("uid_proxy", [True, False], ids=["uid-route", "numeric-id-route"])
def test_datasource_health_goes_through_grafanas_proxy(grafana: tuple[str, FakeGrafana], uid_proxy: bool) -> None:
    url, state = grafana
    state.uid_proxy = uid_proxy
    with _ctx(url, GrafanaAuth(token=TOKEN)) as ctx:
        outcome = datasource_healthy(ctx)
    route = "/api/datasources/proxy/uid/prometheus/-/healthy" if uid_proxy else "/api/datasources/proxy/1/-/healthy"
    assert outcome.status is Status.passed and outcome.message == f"prometheus: HTTP 200 via {route}"
    state.datasource_healthy = False
    with _ctx(url, GrafanaAuth(token=TOKEN)) as ctx:
        outcome = datasource_healthy(ctx)
    assert outcome.status is Status.failed and outcome.message == "Grafana's proxy to datasource prometheus answered HTTP 502"
