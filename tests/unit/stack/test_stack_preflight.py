"""`atctl up` refuses broken alert rules and Alertmanager config before anything starts."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from agentic_trading.settings import Settings
from agentic_trading.stack import Stack
from agentic_trading.stack import observability as observability_module
from agentic_trading.stack.preflight import (
    ObservabilityConfigRefusedError,
    amtool_problems,
    check_alertmanager_config,
    promtool_problems,
)

REPO_OBSERVABILITY = Path(__file__).resolve().parents[3] / "observability"


def test_promtool_output_becomes_file_line_col_messages() -> None:
    output = (
        "Checking gateway.yml\n  FAILED:\n"
        'gateway.yml: 7:15: group "gateway.alerts", rule 1, "GatewayDown": could not parse expression: '
        '1:18: parse error: unexpected "=" in label matching\n\n'
    )
    assert promtool_problems(output) == [
        'gateway.yml:7:15: group "gateway.alerts", rule 1, "GatewayDown": could not parse expression: '
        '1:18: parse error: unexpected "=" in label matching'
    ]


def test_amtool_output_names_the_file_and_the_problem() -> None:
    output = "Checking '/x/am.yml'  FAILED: not a valid duration string: \"3q\"\n\namtool: error: failed to validate 1 file(s)\n"
    assert amtool_problems(output) == ['/x/am.yml: not a valid duration string: "3q"']


def test_a_real_amtool_refuses_a_bad_duration(tmp_path: Path) -> None:
    config = tmp_path / "alertmanager.yml"
    config.write_text("route:\n  receiver: x\n  group_wait: 3q\nreceivers:\n  - name: x\n")
    with pytest.raises(ObservabilityConfigRefusedError, match=r'alertmanager.yml: not a valid duration string: "3q"'):
        check_alertmanager_config(shutil.which("amtool") or "amtool", config)


def test_up_refuses_a_promql_error_in_gateway_yml_within_2_s_naming_line_and_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "observability"
    shutil.copytree(REPO_OBSERVABILITY, source)
    gateway = source / "prometheus" / "alerts" / "gateway.yml"
    lines = gateway.read_text().splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines, start=1) if 'up{job="gateway"} == 0' in line)
    lines[number - 1] = lines[number - 1].replace('up{job="gateway"} == 0', 'up{job="gateway" == 0')
    gateway.write_text("".join(lines))
    monkeypatch.setattr(observability_module, "default_source_dir", lambda: source)
    stack = Stack(Settings(state_dir=tmp_path / "state", port_offset=22500))

    started = time.monotonic()
    with pytest.raises(ObservabilityConfigRefusedError) as refused:
        stack.up(["prometheus", "alertmanager"], timeout=5)
    took = time.monotonic() - started

    assert took < 2.0, f"refused after {took:.2f} s"
    assert refused.value.exit_code == 2
    column = lines[number - 1].index("up{") + 1
    assert f"gateway.yml:{number}:{column}: " in str(refused.value)
    assert "parse error" in str(refused.value) and "GatewayDown" in str(refused.value)
    assert not stack.is_running()
