"""What a user reads: `atctl trace` by either id, its exit codes, and output that fits 80 columns.

Runs the installed ``atctl`` as a user would, piped (so no terminal), with COLUMNS=80.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _live import LiveStack

pytestmark = pytest.mark.integration
ATCTL = str(Path(sys.executable).parent / "atctl")


def _atctl(live: LiveStack, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "80"}
    command = [ATCTL, *args, "--state-dir", str(live.stack.paths.state_dir)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=False)


def _assert_fits_80_columns(text: str) -> None:
    long = [line for line in text.splitlines() if len(line) > 80]
    assert not long, f"lines over 80 columns: {long}"


def test_trace_by_signal_id_and_by_correlation_id_show_the_same_lines(live: LiveStack):
    response = live.post_signal({"instrument": "GBPUSD", "action": "sell", "confidence": 0.7}, path="/webhook/test")
    assert response.status_code == 200, response.text
    answer = response.json()
    by_correlation = _atctl(live, "trace", answer["correlation_id"])
    by_signal = _atctl(live, "trace", answer["signal_id"])
    assert by_correlation.returncode == 0, by_correlation.stderr
    assert by_signal.stdout == by_correlation.stdout
    _assert_fits_80_columns(by_signal.stdout)
    assert "gateway signal_accepted" in by_signal.stdout and "orchestrator decision_published" in by_signal.stdout
    assert f"decided_at={time.strftime('%Y-', time.gmtime())}" in by_signal.stdout  # ISO 8601, not an epoch
    # every token of the log's details is whole on some line
    assert "agent_type=correlation" in by_signal.stdout


def test_an_unknown_id_exits_2_at_once(live: LiveStack):
    started = time.monotonic()
    result = _atctl(live, "trace", "no-such-correlation-id", "--timeout", "10")
    assert result.returncode == 2, result.stderr
    assert "no-such-correlation-id" in result.stderr
    assert time.monotonic() - started < 10  # the lookup did not wait for the timeout


def test_status_piped_at_80_columns_has_whole_urls(live: LiveStack):
    result = _atctl(live, "status")
    assert result.returncode == 0, result.stdout + result.stderr
    _assert_fits_80_columns(result.stdout)
    for component in ("gateway", "prometheus", "process-exporter"):
        assert live.stack.settings.url(component) in result.stdout


def test_summary_reads_every_figure_from_the_live_stack(live: LiveStack):
    result = _atctl(live, "summary", "--format", "json")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["problems"] == []
    assert set(body["consumer_lag"]) >= {"agent-risk", "agent-momentum"}  # from the NATS exporter
    piped = _atctl(live, "summary")
    _assert_fits_80_columns(piped.stdout)
    assert "decisions" in piped.stdout and "firing alerts" in piped.stdout
