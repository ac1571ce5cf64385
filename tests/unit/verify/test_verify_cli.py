"""``atctl verify`` and ``atctl health`` as a user runs them: exit codes, formats, URLs."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest
from _verify_fakes import PROMETHEUS, FakeDeployment, target, vector
from typer.testing import CliRunner

from _support import free_port
from agentic_trading.cli import verify as verify_cli
from agentic_trading.cli.common import GlobalOptions
from agentic_trading.cli.main import app
from agentic_trading.verify import VerifyContext
from agentic_trading.verify.health import INGESTION_QUERY

runner = CliRunner()


@pytest.fixture
def healthy(deployment: FakeDeployment, monkeypatch: pytest.MonkeyPatch) -> FakeDeployment:
    """The CLI talks to the fake deployment instead of opening real connections."""
    deployment.prometheus.results["up"] = vector(({"job": "gateway"}, 1))
    deployment.prometheus.results[INGESTION_QUERY] = vector(({}, 0.5))

    original = deployment.handle

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.host == "alertmanager.test":
            return httpx.Response(200, text="OK")
        return original(request)

    def open_fake(endpoints, sources, **kwargs) -> VerifyContext:
        return VerifyContext(endpoints, sources, httpx.Client(transport=httpx.MockTransport(handle)))

    monkeypatch.setattr(VerifyContext, "open", staticmethod(open_fake))
    return deployment


URLS = ["--prometheus-url", PROMETHEUS, "--alertmanager-url", "http://alertmanager.test:9093"]


def test_an_unreachable_prometheus_exits_2_with_what_to_do(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = runner.invoke(
        app, ["verify", "--prometheus-url", url, "--alertmanager-url", url, "--gateway-url", url, "--state-dir", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert f"Prometheus at {url} is not answering (connection refused): is the stack up? (atctl status)" in result.output


def test_given_urls_need_nothing_local(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_local(options: GlobalOptions):
        raise AssertionError("the local stack was consulted")

    monkeypatch.setattr(verify_cli, "local_settings", no_local)
    given = {"prometheus": "http://p:9090/", "alertmanager": "http://a:9093", "gateway": None, "grafana": None}
    endpoints, settings = verify_cli.resolve_endpoints(GlobalOptions(), given, ["prometheus", "alertmanager"])
    assert endpoints.prometheus == "http://p:9090" and endpoints.gateway is None
    assert settings is None


def test_missing_urls_come_from_the_local_stacks_settings(tmp_path: Path) -> None:
    options = GlobalOptions(state_dir=tmp_path / "none", port_offset=21000)
    given = {"prometheus": None, "alertmanager": None, "gateway": None, "grafana": "http://grafana:3000"}
    endpoints, settings = verify_cli.resolve_endpoints(options, given, ["prometheus", "alertmanager", "gateway"])
    assert settings is not None and settings.port_offset == 21000
    assert (endpoints.prometheus, endpoints.gateway, endpoints.grafana) == (
        "http://127.0.0.1:30090",
        "http://127.0.0.1:29001",
        "http://grafana:3000",
    )


def test_health_passes_and_prints_json(healthy: FakeDeployment) -> None:
    result = runner.invoke(app, ["health", *URLS, "--format", "json", "--quiet"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert (body["passed"], body["failed"]) == (5, 0)
    assert {check["category"] for check in body["checks"]} == {"health"}


def test_a_failed_check_exits_1_and_junit_names_it(healthy: FakeDeployment) -> None:
    healthy.prometheus.targets.append(target("nats", "nats.test:7777", health="down", service="nats-exporter"))
    result = runner.invoke(app, ["verify", "-c", "health", *URLS, "--format", "junit", "--quiet"])
    assert result.exit_code == 1
    root = ET.fromstring(result.stdout)
    failure = root.find("testsuite[@name='health']/testcase[@name='targets up']/failure")
    assert failure is not None and "nats-exporter" in failure.get("message")


def test_output_dir_gets_the_html_json_and_junit_reports(healthy: FakeDeployment, tmp_path: Path) -> None:
    result = runner.invoke(app, ["health", *URLS, "--output", str(tmp_path / "out"), "--quiet"])
    assert result.exit_code == 0, result.output
    html = (tmp_path / "out" / "report.html").read_text()
    assert "<h1>atctl health" in html and 'id="category-health"' in html
    assert json.loads((tmp_path / "out" / "report.json").read_text())["passed"] == 5
    ET.parse(tmp_path / "out" / "junit.xml")
    assert "PASSED: 5 passed, 0 failed, 0 skipped" in result.stdout


def test_progress_goes_to_stderr_and_the_report_to_stdout(healthy: FakeDeployment) -> None:
    result = runner.invoke(app, ["verify", "-c", "health", *URLS, "--format", "json"])
    assert result.exit_code == 0
    assert "health: 5 passed, 0 failed, 0 skipped" in result.stderr
    json.loads(result.stdout)


def test_unknown_categories_are_a_usage_error() -> None:
    result = runner.invoke(app, ["verify", "-c", "speed"])
    assert result.exit_code == 2 and "speed" in result.output


def test_an_unreadable_catalog_exits_2_with_one_line(healthy: FakeDeployment, tmp_path: Path) -> None:
    result = runner.invoke(app, ["verify", *URLS, "-c", "collection", "--catalog", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "error: cannot read the metric catalog" in result.output and "Traceback" not in result.output
