"""``atctl load`` end to end against a stand-in target: JSON report, thresholds, exit codes."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from _support import free_port
from agentic_trading.cli import load
from agentic_trading.cli.main import app as main_app

runner = CliRunner()


def _atctl() -> typer.Typer:
    return main_app  # atctl itself: its error reporting turns LoadError into one line and an exit code


def test_json_report_is_one_object_and_thresholds_decide_the_exit_code(stub_server):
    server = stub_server()
    args = ["load", "--url", server.url, "--rate", "100", "--duration", "0.5", "--format", "json"]
    passed = runner.invoke(_atctl(), [*args, "-t", "p99<1s", "-t", "errors<1%"])
    assert passed.exit_code == 0, passed.output
    report = json.loads(passed.stdout)
    assert report["requests"] == 50 and report["success_rate"] == 1.0
    assert report["model"] == {"kind": "open", "rate": 100.0, "duration_s": 0.5, "workers": 1}
    assert report["target"] == server.url
    assert [t["passed"] for t in report["thresholds"]] == [True, True]
    assert "threshold p99<1s: ok" in passed.stderr

    crossed = runner.invoke(_atctl(), [*args, "-t", "rps>1000", "-t", "p99<1s"])
    assert crossed.exit_code == 1
    assert "threshold rps>1000: crossed (rps = " in crossed.stderr
    assert json.loads(crossed.stdout)["thresholds"][0]["passed"] is False


def test_path_option_and_closed_model_text_report(stub_server):
    server = stub_server()
    url = server.url.replace("/webhook/tradingview", "/elsewhere")
    result = runner.invoke(
        _atctl(),
        [
            "load",
            "--url",
            url,
            "--path",
            "/webhook/test",
            "--users",
            "2",
            "--think-min",
            "0.05",
            "--think-max",
            "0.1",
            "--duration",
            "0.4",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "closed: 2 users, think 0.05-0.1 s" in result.stdout
    assert f"127.0.0.1:{server.port}/webhook/test" in result.stdout
    assert "latency p99" in result.stdout


def test_unreachable_target_exits_2_with_what_to_do():
    url = f"http://127.0.0.1:{free_port()}/webhook/tradingview"
    result = runner.invoke(_atctl(), ["load", "--url", url, "--rate", "10", "--duration", "1"])
    assert result.exit_code == 2
    assert f"gateway at {url} is not answering" in result.stderr
    assert "atctl status" in result.stderr


def test_bad_threshold_and_both_models_are_usage_errors():
    bad = runner.invoke(_atctl(), ["load", "--rate", "10", "-t", "p99 fast"])
    assert bad.exit_code == 2
    assert "'p99 fast' is not of the form METRIC OP VALUE" in bad.stderr
    both = runner.invoke(_atctl(), ["load", "--rate", "10", "--users", "5"])
    assert both.exit_code == 2
    assert "choose one model" in both.stderr


def test_default_target_is_the_local_gateway_webhook(monkeypatch):
    monkeypatch.setenv("AT_PORT_OFFSET", "44000")
    assert load.target_url(None, None) == "http://127.0.0.1:52001/webhook/tradingview"
    assert load.target_url(None, "/webhook/test") == "http://127.0.0.1:52001/webhook/test"
