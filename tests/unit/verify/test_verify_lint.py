"""``atctl verify --category alerts|dashboards`` reports the lint: one finding per doctored fault, with file and line.

The deployment is the fake one (httpx.MockTransport); the tree is a doctored copy
passed with ``--source``, as a user checks a branch's files against a running stack.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest
import yaml
from _verify_fakes import PROMETHEUS, FakeDeployment
from typer.testing import CliRunner

from agentic_trading.cli.main import app
from agentic_trading.observability import default_root
from agentic_trading.verify import VerifyContext

runner = CliRunner()
URLS = ["--prometheus-url", PROMETHEUS, "--alertmanager-url", "http://alertmanager.test:9093"]


@pytest.fixture
def fake(deployment: FakeDeployment, monkeypatch: pytest.MonkeyPatch) -> FakeDeployment:
    def open_fake(endpoints, sources, **kwargs) -> VerifyContext:
        return VerifyContext(endpoints, sources, httpx.Client(transport=httpx.MockTransport(deployment.handle)))

    monkeypatch.setattr(VerifyContext, "open", staticmethod(open_fake))
    return deployment


@pytest.fixture
def source(tmp_path: Path) -> Path:
    root = default_root()
    shutil.copytree(root, tmp_path / "observability", ignore=lambda d, names: ["tests"] if Path(d) == root else [])
    shutil.copytree(root.parent / "docs" / "runbooks", tmp_path / "docs" / "runbooks")
    return tmp_path / "observability"


def _line(path: Path, text: str, after: str = "") -> int:
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if after in line)
    return next(i for i, line in enumerate(lines) if i >= start and text in line) + 1


def _replace(path: Path, old: str, new: str) -> Path:
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))
    return path


def _lint_details(source: Path, category: str) -> list[str]:
    result = runner.invoke(app, ["verify", *URLS, "-q", "-c", category, "--source", str(source), "--format", "json"])
    assert result.exit_code == 1, result.output
    checks = {check["name"]: check for check in json.loads(result.stdout)["checks"]}
    lint = checks[f"lint {category}"]
    assert lint["status"] == "failed" and lint["query"] == f"atctl lint --area {category}"
    return lint["details"]


def test_four_faults_in_the_alerts_give_one_finding_each(fake: FakeDeployment, source: Path) -> None:
    """One verify run (promtool takes seconds) for four faults, each in its own alert or file."""
    gateway = _replace(
        source / "prometheus/alerts/gateway.yml",
        "(rate(gateway_validation_errors_total[5m]))",
        "(rate(gateway_validaton_errors_total[5m]))",
    )
    tests = source / "prometheus/tests/platform.yml"
    document = yaml.safe_load(tests.read_text())
    for group in document["tests"]:
        group["alert_rule_test"] = [c for c in group.get("alert_rule_test") or [] if c["alertname"] != "HighCPU"]
    tests.write_text(yaml.safe_dump(document, sort_keys=False))
    (source.parent / "docs/runbooks/RedisDown.md").unlink()
    routes = _replace(source / "alertmanager/alertmanager.yml", "- receiver: warning\n", "- receiver: warnings\n")
    platform, redis = source / "prometheus/alerts/platform.yml", source / "prometheus/alerts/redis.yml"

    details = _lint_details(source, "alerts")

    expected = [
        f"{routes}:{_line(routes, 'receiver: warnings')}: route-unknown-receiver: route to receiver 'warnings'",
        f"{gateway}:{_line(gateway, 'expr:', after='alert: GatewayHighErrorRate')}: alert-unknown-metric: "
        "alert GatewayHighErrorRate selects gateway_validaton_errors_total",
        f"{platform}:{_line(platform, '- alert: HighCPU')}: alert-untested: HighCPU has no alert_rule_test",
        f"{redis}:{_line(redis, '- alert: RedisDown')}: alert-no-runbook: RedisDown has no runbook",
    ]
    assert len(details) == len(expected), details
    for prefix in expected:
        assert sum(detail.startswith(prefix) for detail in details) == 1, (prefix, details)


def test_a_dashboard_with_a_duplicate_uid(fake: FakeDeployment, source: Path) -> None:
    path = _replace(source / "grafana_dashboards/pipeline.json", '"uid": "pipeline-001"', '"uid": "gateway-001"')
    line = _line(path, '"uid": "gateway-001"')
    [detail] = _lint_details(source, "dashboards")
    assert detail.startswith(f"{path}:{line}: dashboard-duplicate-uid: uid 'gateway-001'")
