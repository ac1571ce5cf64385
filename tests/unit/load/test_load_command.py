"""``atctl load`` end to end against a stand-in target: JSON report, thresholds, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from _support import free_port
from agentic_trading.cli import load
from agentic_trading.cli.main import app as main_app
from agentic_trading.gateway.auth import WebhookAuthenticator
from agentic_trading.settings import Settings
from agentic_trading.stack.paths import StackPaths
from agentic_trading.stack.secrets import write_secret
from agentic_trading.stack.state import StackRecord, save_record
from agentic_trading.stack.webhook_secret import WEBHOOK_SECRET

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


def _record_stack(state_dir: Path, gateway_port: int, secret: str | None) -> None:
    """A stack.json (and secret) as `atctl up` leaves them, with the stub as the gateway."""
    settings = Settings(state_dir=state_dir, gateway_port=gateway_port)
    paths = StackPaths.of(state_dir)
    paths.create()
    save_record(paths, StackRecord(settings, ["gateway"]))
    if secret is not None:
        write_secret(paths, WEBHOOK_SECRET, secret)


def test_load_finds_the_recorded_stack_sends_to_the_test_webhook_and_signs(stub_server, tmp_path, monkeypatch):
    monkeypatch.delenv("AT_WEBHOOK_SECRET", raising=False)
    server = stub_server()
    _record_stack(tmp_path, server.port, "s3cret-of-the-stack")
    args = ["load", "--state-dir", str(tmp_path), "--rate", "40", "--duration", "0.25", "--format", "json"]
    result = runner.invoke(_atctl(), args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["target"] == f"http://127.0.0.1:{server.port}/webhook/test"
    signer = WebhookAuthenticator("s3cret-of-the-stack")
    assert server.heads and len(server.heads) == len(server.bodies)
    for head, body in zip(server.heads, server.bodies, strict=True):
        assert head.startswith(b"POST /webhook/test ")
        assert f"X-Signature: {signer.sign(body)}".encode() in head
        assert signer.check_signature(body, head.split(b"X-Signature: ")[1].split(b"\r\n")[0]) is None


def test_load_without_a_secret_sends_unsigned_and_the_environment_secret_wins(stub_server, tmp_path, monkeypatch):
    server = stub_server()
    _record_stack(tmp_path, server.port, None)
    args = ["load", "--state-dir", str(tmp_path), "--rate", "20", "--duration", "0.2", "--endpoint", "tradingview"]
    monkeypatch.delenv("AT_WEBHOOK_SECRET", raising=False)
    assert runner.invoke(_atctl(), args).exit_code == 0
    assert server.heads and all(b"x-signature" not in head.lower() for head in server.heads)
    assert all(head.startswith(b"POST /webhook/tradingview ") for head in server.heads)

    monkeypatch.setenv("AT_WEBHOOK_SECRET", "from-the-environment")
    before = len(server.heads)
    assert runner.invoke(_atctl(), args).exit_code == 0
    signer = WebhookAuthenticator("from-the-environment")
    assert all(
        signer.sign(body).encode() in head for head, body in zip(server.heads[before:], server.bodies[before:], strict=True)
    )


def test_target_url_replaces_the_path():
    assert load.target_url("http://h:1/webhook/tradingview", None) == "http://h:1/webhook/tradingview"
    assert load.target_url("http://h:1/webhook/tradingview", "healthz") == "http://h:1/healthz"
