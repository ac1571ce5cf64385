"""``atctl verify`` against the session's live stack: healthy, under four faults, by URL only, its reports.

Every run is the real command in a subprocess (``--format json``), as a user or CI runs it.
The faults are the ones the testing strategy cares about: an exporter gone, a panel on a
metric that does not exist, a gauge outside its range, an alert nobody tested.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml
from _live import LiveStack

from _support import eventually
from agentic_trading.stack.observability import default_source_dir
from agentic_trading.verify import CATEGORIES

pytestmark = pytest.mark.integration

ATCTL = str(Path(sys.executable).with_name("atctl"))
VERIFY_BUDGET_S = 60.0
GHOST_METRIC = "gateway_ghost_requests_total"
UNTESTED_ALERT = "GatewayGhostTraffic"


def run_verify(live: LiveStack, *args: str) -> tuple[int, dict[str, Any], float]:
    """Exit code, the JSON report, and wall time of `atctl verify --format json ARGS`."""
    command = [ATCTL, "verify", "--format", "json", *args]
    if "--prometheus-url" not in args:
        command += ["--state-dir", str(live.settings.state_dir)]
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    elapsed = time.monotonic() - started
    assert result.returncode in (0, 1), f"{command} exited {result.returncode}: {result.stderr}"
    return result.returncode, json.loads(result.stdout), elapsed


def failed(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {check["name"]: check for check in body["checks"] if check["status"] == "failed"}


def _targets(live: LiveStack) -> list[dict[str, Any]]:
    return live.http.get(live.url("prometheus") + "/api/v1/targets").json()["data"]["activeTargets"]


def _wait_settled(live: LiveStack) -> None:
    """Every target up, three scrapes of each (rates have data), nothing but the Watchdog firing."""
    eventually(lambda: all(t["health"] == "up" for t in _targets(live)), timeout_s=30, interval_s=0.25, what="every target up")
    eventually(
        lambda: (live.query_value("min(count_over_time(up[1m]))") or 0) >= 3,
        timeout_s=30,
        interval_s=0.25,
        what="three scrapes of every target",
    )
    eventually(
        lambda: {r["metric"]["alertname"] for r in live.query('ALERTS{alertstate="firing"}')} == {"Watchdog"},
        timeout_s=45,
        interval_s=0.5,
        what="only the Watchdog firing (alerts of earlier tests resolved)",
    )


@pytest.fixture(scope="module")
def healthy_run(live: LiveStack, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[str, Any], float, Path]:
    """One full `atctl verify` of the settled stack, with --output: shared by the report tests."""
    _wait_settled(live)
    out = tmp_path_factory.mktemp("verify-report")
    code, body, elapsed = run_verify(live, "--output", str(out))
    print(f"\natctl verify: {body['passed']} passed, {body['failed']} failed, {body['skipped']} skipped in {elapsed:.1f} s")
    return code, body, elapsed, out


def test_a_healthy_stack_passes_every_category_in_under_60_s(healthy_run) -> None:
    code, body, elapsed, _ = healthy_run
    problems = [f"{c['category']}/{c['name']}: {c['message']}" for c in failed(body).values()]
    assert code == 0 and not problems, problems
    assert {check["category"] for check in body["checks"]} == set(CATEGORIES)
    assert body["passed"] >= 150, "every catalog metric, panel query and alert is checked"
    assert elapsed < VERIFY_BUDGET_S, f"atctl verify took {elapsed:.1f} s"
    webhook = next(c for c in body["checks"] if c["name"] == "test webhook counted")
    assert webhook["status"] == "passed" and "the gateway counted +3" in webhook["message"]


def test_the_same_command_passes_given_only_urls(live: LiveStack, tmp_path: Path) -> None:
    """Nothing local is used: the state directory and port offset given are bogus."""
    _wait_settled(live)
    urls = {
        name: live.url(component)
        for name, component in (("prometheus", "prometheus"), ("alertmanager", "alertmanager"), ("gateway", "gateway"))
    }
    code, body, elapsed = run_verify(
        live,
        *(arg for name, url in urls.items() for arg in (f"--{name}-url", url)),
        "--state-dir",
        str(tmp_path / "no-stack-here"),
        "--port-offset",
        "777",
    )
    assert code == 0, [f"{c['category']}/{c['name']}: {c['message']}" for c in failed(body).values()]
    assert {check["category"] for check in body["checks"]} == set(CATEGORIES)
    assert not (tmp_path / "no-stack-here").exists()
    print(f"by URL only: {body['passed']} passed in {elapsed:.1f} s")


def test_a_stopped_exporter_fails_collection_naming_it(live: LiveStack) -> None:
    live.stack.stop("nats-exporter")
    try:
        eventually(
            lambda: any(t["labels"].get("service") == "nats-exporter" and t["health"] == "down" for t in _targets(live)),
            timeout_s=15,
            interval_s=0.2,
            what="Prometheus seeing the NATS exporter down",
        )
        code, body, _ = run_verify(live, "--category", "collection")
    finally:
        live.stack.start("nats-exporter")
        eventually(
            lambda: all(t["health"] == "up" for t in _targets(live)), timeout_s=30, interval_s=0.25, what="targets up again"
        )
    failures = failed(body)
    assert code == 1
    assert re.fullmatch(r"1 of \d+ targets down: nats-exporter", failures["targets up"]["message"])
    assert "connection refused" in failures["targets up"]["details"][0]
    assert failures["series nats_consumer_pending_messages"]["message"].startswith(
        "nats_consumer_pending_messages has no series: its source is down (nats/nats-exporter"
    )
    exposition = next(name for name in failures if name.startswith("exposition nats/nats-exporter"))
    assert "connection refused" in failures[exposition]["message"]
    assert all("nats" in name or name == "targets up" for name in failures), sorted(failures)


def test_a_panel_on_a_metric_that_does_not_exist_fails_dashboards(live: LiveStack, tmp_path: Path) -> None:
    dashboards = tmp_path / "grafana_dashboards"
    shutil.copytree(default_source_dir() / "grafana_dashboards", dashboards)
    path = dashboards / "gateway.json"
    dashboard = json.loads(path.read_text())
    dashboard["panels"].append(
        {
            "id": 990,
            "type": "timeseries",
            "title": "Ghost requests",
            "datasource": {"type": "prometheus", "uid": "prometheus"},
            "gridPos": {"h": 8, "w": 12, "x": 0, "y": 90},
            "targets": [{"refId": "A", "expr": f"sum(rate({GHOST_METRIC}[1m]))"}],
        }
    )
    path.write_text(json.dumps(dashboard, indent=2))
    code, body, _ = run_verify(live, "--category", "dashboards", "--dashboards-dir", str(dashboards))
    failures = failed(body)
    assert code == 1
    assert set(failures) == {"query gateway-001 / Ghost requests / A", "lint dashboards"}
    assert failures["query gateway-001 / Ghost requests / A"]["message"] == (
        f"no data: {GHOST_METRIC} has no series and is not in the catalog"
    )
    assert failures["query gateway-001 / Ghost requests / A"]["query"] == f"sum(rate({GHOST_METRIC}[1m]))"
    [finding] = failures["lint dashboards"]["details"]
    assert finding.startswith(f"{path}:") and (
        f": panel-unknown-metric: panel 'Ghost requests' (A) selects {GHOST_METRIC}, which is not in metrics.yaml" in finding
    )


def test_a_gauge_outside_its_catalog_range_fails_accuracy(live: LiveStack, tmp_path: Path) -> None:
    """nats_server_up is 1 while NATS runs; a catalog that allows only [0, 0.5] must catch it."""
    catalog = tmp_path / "metrics.yaml"
    text = (default_source_dir() / "metrics.yaml").read_text()
    narrowed, replaced = re.subn(r"(  nats_server_up:\n.*\n\s+range: )\[0, 1\]", r"\1[0, 0.5]", text)
    assert replaced == 1
    catalog.write_text(narrowed)
    code, body, _ = run_verify(live, "--category", "accuracy", "--catalog", str(catalog))
    failures = failed(body)
    assert code == 1 and set(failures) == {"range nats_server_up"}
    message = failures["range nats_server_up"]["message"]
    assert message.startswith("1 of 1 series of nats_server_up outside [0, 0.5]: nats_server_up{") and message.endswith("= 1")
    assert failures["range nats_server_up"]["query"].endswith("nats_server_up > 0.5")


def test_an_alert_without_a_unit_test_fails_alerts(live: LiveStack, tmp_path: Path) -> None:
    rules = tmp_path / "prometheus"
    shutil.copytree(default_source_dir() / "prometheus", rules)
    path = rules / "alerts" / "gateway.yml"
    document = yaml.safe_load(path.read_text())
    document["groups"][0]["rules"].append(
        {
            "alert": UNTESTED_ALERT,
            "expr": 'sum(rate(gateway_webhooks_total{endpoint="test"}[5m])) > 100',
            "for": "5m",
            "labels": {"severity": "warning"},
            "annotations": {"summary": "Test webhooks flood the gateway."},
        }
    )
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    code, body, _ = run_verify(live, "--category", "alerts", "--rules-dir", str(rules))
    failures = failed(body)
    assert code == 1
    # Missing its unit test, and (true as well) its runbook, its description, its runbook_url,
    # and its place in the running Prometheus.
    assert set(failures) == {"lint alerts", "loaded on Prometheus"}
    codes = {line.split(": ")[1] for line in failures["lint alerts"]["details"]}
    assert {"alert-untested", "alert-no-runbook"} <= codes
    assert any(
        line.startswith(f"{path}:") and f"alert-untested: {UNTESTED_ALERT} has no alert_rule_test" in line
        for line in failures["lint alerts"]["details"]
    )
    passed = {c["name"] for c in body["checks"] if c["status"] == "passed"}
    assert {"promtool check rules", "promtool test rules", f"expression {UNTESTED_ALERT}"} <= passed


def test_junit_output_is_junit_xml_with_a_suite_per_category(healthy_run) -> None:
    _, body, _, out = healthy_run
    root = ET.parse(out / "junit.xml").getroot()
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [suite.get("name") for suite in suites] == list(CATEGORIES)
    assert sum(len(suite.findall("testcase")) for suite in suites) == len(body["checks"])
    assert root.find(".//failure") is None
    assert int(root.get("tests")) == len(body["checks"]) and root.get("failures") == "0"


def test_the_html_report_renders_in_chromium_with_every_category(healthy_run, tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.fail("chromium is not installed: apt-get install --no-install-recommends chromium (scripts/bootstrap.sh does)")
    report = healthy_run[3] / "report.html"
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    screenshot = tmp_path / "verify-report.png"
    shot = subprocess.run(
        [chromium, *flags, f"--screenshot={screenshot}", "--window-size=1280,2000", report.as_uri()],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shot.returncode == 0 and screenshot.stat().st_size > 20_000, shot.stderr[-2000:]
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    dom = subprocess.run([chromium, *flags, "--dump-dom", report.as_uri()], capture_output=True, text=True, timeout=60)
    assert dom.returncode == 0, dom.stderr[-2000:]
    for category in CATEGORIES:
        assert f'id="category-{category}"' in dom.stdout, f"no {category} section in the rendered DOM"
    assert '<span class="badge passed">passed</span>' in dom.stdout
