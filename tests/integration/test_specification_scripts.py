"""The specification's own scripts, run unchanged from observability/ against the live stack.

The scripts print warnings rather than fail, so these tests read what they print. On a port offset
(a stack of yours holds the default ports) they run a copy whose URLs point at the test stack.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _live import LiveStack

from _support import eventually
from agentic_trading.stack.observability import default_source_dir

pytestmark = pytest.mark.integration

SPEC_METRICS = (
    "gateway_webhooks_total",
    "agent_messages_processed_total",
    "orchestrator_workflows_total",
    "nats_consumer_pending_messages",
    "redis_connected_clients",
)


@pytest.fixture
def observability_dir(live: LiveStack, tmp_path: Path) -> Path:
    """observability/ itself on default ports; otherwise a copy with the test stack's ports."""
    source = default_source_dir()
    if live.settings.port_offset == 0:
        return source
    copy = tmp_path / "observability"
    shutil.copytree(source, copy)
    ports = {9090: live.settings.port("prometheus"), 8001: live.settings.port("gateway")}
    for script in (copy / "tests").iterdir():
        text = script.read_text()
        for default, actual in ports.items():
            text = re.sub(rf"localhost:{default}\b", f"localhost:{actual}", text)
        script.write_text(text)
    print(f"(ports rewritten for offset {live.settings.port_offset})")
    return copy


def _run(command: list[str], cwd: Path) -> str:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120, env=os.environ.copy())
    assert result.returncode == 0, f"{command} exited {result.returncode}: {result.stdout}{result.stderr}"
    return result.stdout


def _all_spec_metrics_present(live: LiveStack) -> bool:
    return all(live.query(metric) for metric in SPEC_METRICS)


def test_test_metric_collection_sh_finds_every_metric(live: LiveStack, observability_dir: Path):
    eventually(lambda: _all_spec_metrics_present(live), timeout_s=30, what="the specification's five metrics")
    output = _run(["bash", "tests/test_metric_collection.sh"], observability_dir)
    assert "ERROR" not in output, output
    for metric in SPEC_METRICS:
        assert re.search(rf"✓ Metric {metric}: [1-9]\d* series", output), output


def _scraped_long_enough_for_rates(live: LiveStack) -> bool:
    """rate() over [1m] needs two samples in the window: wait until every target has three."""
    return (live.query_value("min(count_over_time(up[1m]))") or 0) >= 3


def test_test_dashboard_queries_py_reports_data_for_every_panel(live: LiveStack, observability_dir: Path):
    """Every panel has data; the script cannot expand template variables, so those are checked expanded.

    The script sends ``$agent_type`` to Prometheus literally (it matches nothing there), and only
    warns. For exactly those queries this test expands the variable to every value the script's
    own variable check found (as Grafana's "All" does) and requires data.
    """
    # Every panel needs some traffic behind it: one accepted signal through the whole pipeline.
    assert live.post_signal({"instrument": "EURUSD", "action": "buy", "confidence": 0.8}).status_code == 200
    eventually(lambda: _all_spec_metrics_present(live), timeout_s=30, what="the specification's five metrics")
    eventually(lambda: _scraped_long_enough_for_rates(live), timeout_s=30, what="three scrapes of every target")
    output = _run([sys.executable, "tests/test_dashboard_queries.py"], observability_dir)

    assert "✗" not in output, output
    panels = re.findall(r"✓ (.+): (\d+) series", output)
    assert len(panels) >= 10, output
    variable = re.search(r"✓ Agent type variable: \[(.*)\]", output)
    assert variable, output
    agent_types = re.findall(r"'([^']+)'", variable.group(1))
    assert set(agent_types) == {"momentum", "risk", "sentiment", "correlation"}
    no_data = re.findall(r"⚠ No data returned for query: (.+)", output)
    without_variables = [q for q in no_data if "$" not in q]
    assert not without_variables, f"panels without data: {without_variables}"
    for query in no_data:
        expanded = query.replace("$agent_type", "(" + "|".join(agent_types) + ")")
        assert live.query(expanded), f"no data even with $agent_type expanded: {expanded}"


def test_test_dashboard_visuals_py_logs_in_and_saves_screenshots(live: LiveStack, tmp_path: Path):
    """The specification's Selenium test against the stack's dashboards viewer, in a scratch directory.

    It logs in as admin/admin (the session stack sets that password), opens gateway-001 and
    agents-001, fails on any ``.panel-content .alert-error`` and saves ``screenshots/<uid>.png``.
    """
    script = (default_source_dir() / "tests" / "test_dashboard_visuals.py").read_text()
    if live.settings.port_offset:
        script = re.sub(r"localhost:3000\b", f"localhost:{live.settings.port('dashboards')}", script)
        print(f"(port rewritten for offset {live.settings.port_offset})")
    (tmp_path / "test_dashboard_visuals.py").write_text(script)
    (tmp_path / "screenshots").mkdir()
    output = _run([sys.executable, "test_dashboard_visuals.py"], tmp_path)
    for uid in ("gateway-001", "agents-001"):
        assert f"✓ Dashboard {uid} loaded successfully" in output, output
        png = (tmp_path / "screenshots" / f"{uid}.png").read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 10_000, f"{uid}.png: {len(png)} bytes"
