"""Reports of `atctl chaos run`: the JSON shape of the issue, JUnit that parses, text rows."""

from __future__ import annotations

import json
from xml.etree import ElementTree

from typer.testing import CliRunner

from agentic_trading.chaos.report import text_rows, to_json, to_junit, to_markdown
from agentic_trading.chaos.runner import ExperimentResult
from agentic_trading.cli.main import app

PASSED = ExperimentResult(
    "gateway-down", "GatewayDown", "passed", "stop", 0.93, 1.36, 1.961, 2.97, [], 11, 11, "ok", duration_s=9.0
)
FAILED = ExperimentResult("nats-down", "NATSServerDown", "failed", "stop", message="NATSServerDown never fired", duration_s=30.0)
SKIPPED = ExperimentResult("high-cpu", "HighCPU", "skipped", "burn", message="cannot fire: one core of two")
KEYS = [
    "name",
    "alert",
    "status",
    "fault",
    "time_to_fire_s",
    "time_to_alertmanager_s",
    "time_to_notify_s",
    "time_to_resolve_s",
    "unexpected_alerts",
    "signals_accepted",
    "signals_decided",
    "message",
]


EXTRA_KEYS = ["notify_budget_s", "resolve_budget_s", "duration_s", "phases_s", "ran_alongside", "stack"]


def test_json_has_the_fields_of_the_issue_first_then_where_the_time_went():
    document = json.loads(to_json([PASSED, FAILED]))
    assert list(document) == ["experiments"]
    assert [list(e) for e in document["experiments"]] == [KEYS + EXTRA_KEYS, KEYS + EXTRA_KEYS]
    assert document["experiments"][0]["time_to_notify_s"] == 1.96


def test_a_child_process_report_reads_back_as_the_same_result():
    result = ExperimentResult(
        "agent-down",
        "AgentDown",
        "passed",
        "stop",
        10.5,
        10.5,
        10.6,
        1.0,
        [],
        60,
        60,
        "ok",
        duration_s=31.0,
        phases_s={"steady-state-before": 2.0},
        alongside=["exporter-down"],
        notify_budget_s=13.0,
        resolve_budget_s=5.0,
        stack="/work/.atctl-cs/chaos-stacks/stack-2",
    )
    again = ExperimentResult.from_json(json.loads(to_json([result]))["experiments"][0])
    assert again == result


def test_the_markdown_table_has_a_row_per_experiment_in_name_order_with_budgets():
    rows = to_markdown([FAILED, PASSED]).splitlines()
    assert rows[0].startswith("| experiment | alert | fault | result |")
    assert rows[2].startswith(
        "| `gateway-down` | GatewayDown | stop | passed | 0.93 | 1.36 | 1.96 | 2.97 | – / – | 11 / 11 | 9 s |"
    )
    assert rows[3].startswith("| `nats-down` | NATSServerDown | stop | failed: NATSServerDown never fired | – |")


def test_a_run_over_several_stacks_names_each_experiments_stack_in_the_markdown_table():
    first = ExperimentResult("gateway-down", "GatewayDown", "passed", "stop", stack="/w/.atctl-cs", duration_s=9.0)
    second = ExperimentResult("nats-down", "NATSServerDown", "passed", "stop", stack="/w/.atctl-cs/chaos-stacks/stack-2")
    rows = to_markdown([second, first]).splitlines()
    assert rows[0].endswith("| took | stack |")
    assert rows[2].endswith("| 9 s | `.atctl-cs` |")
    assert rows[3].endswith("| `stack-2` |")
    assert "stack" not in to_markdown([first]).splitlines()[0]  # one stack: the table as before


def test_an_inconclusive_experiment_is_a_skip_in_junit_not_a_failure():
    inconclusive = ExperimentResult("high-cpu", "HighCPU", "inconclusive", "burn", message="HighCPU not tested: busy")
    suite = ElementTree.fromstring(to_junit([inconclusive]))
    assert (suite.get("failures"), suite.get("skipped")) == ("0", "1")


def test_junit_parses_with_failures_and_skips_counted():
    suite = ElementTree.fromstring(to_junit([PASSED, FAILED, SKIPPED]))
    assert suite.tag == "testsuite"
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "1")
    cases = suite.findall("testcase")
    assert cases[1].find("failure").get("message") == "NATSServerDown never fired"
    assert cases[2].find("skipped") is not None and cases[0].find("failure") is None


def test_text_rows_show_dashes_for_what_was_not_measured():
    assert text_rows([PASSED, FAILED]) == [
        ("gateway-down", "GatewayDown", "passed", "0.9", "1.4", "2.0", "3.0", "11/11"),
        ("nats-down", "NATSServerDown", "failed", "-", "-", "-", "-", "-"),
    ]


def test_atctl_chaos_table_prints_the_docs_table_from_a_json_report_with_the_files_fault(tmp_path):
    report = tmp_path / "chaos.json"
    report.write_text(to_json([PASSED]))
    result = CliRunner().invoke(app, ["chaos", "table", str(report)])
    assert result.exit_code == 0, result.output
    assert "| `gateway-down` | GatewayDown | graceful stop of the gateway (SIGTERM) | passed |" in result.output


def test_atctl_chaos_table_refuses_what_is_not_a_report_naming_the_file(tmp_path):
    report = tmp_path / "chaos.json"
    report.write_text("{}")
    result = CliRunner().invoke(app, ["chaos", "table", str(report)])
    assert result.exit_code == 2 and "chaos.json" in result.output
