"""The rendered configs: every program supervised, ports shifted by the offset, no secret on disk."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import types
from pathlib import Path

import pytest

from agentic_trading.settings import Settings
from agentic_trading.stack.access import ensure_credentials
from agentic_trading.stack.errors import StackError
from agentic_trading.stack.paths import StackPaths
from agentic_trading.stack.programs import PROGRAM_NAMES, PROGRAMS, ProgramContext, select_programs
from agentic_trading.stack.render import render_environment, render_nats_conf, render_redis_conf, render_stack
from agentic_trading.stack.state import replace_settings


def _render_all(settings: Settings, programs=PROGRAMS):  # type: ignore[no-untyped-def]
    paths = StackPaths.of(settings.state_dir)
    return paths, render_stack(ProgramContext(settings, paths, python="/venv/bin/python"), programs)


def _supervisord_sections(paths: StackPaths) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser()
    parser.read(paths.supervisord_conf)
    return parser


def test_supervisord_conf_has_every_program(settings: Settings, stub_observability: types.ModuleType) -> None:
    paths, _ = _render_all(settings)
    parser = _supervisord_sections(paths)
    programs = {s.split(":", 1)[1] for s in parser.sections() if s.startswith("program:")}
    assert programs == set(PROGRAM_NAMES)
    gateway = parser["program:gateway"]
    # The gateway keeps the webhook secret and loses the viewer's password (stack/environment.py).
    assert gateway["command"] == "/usr/bin/env -u AT_DASHBOARDS_PASSWORD -- /venv/bin/python -m agentic_trading.gateway"
    # Every program but the gateway starts without the webhook secret (stack/environment.py).
    assert (
        parser["program:agent-risk"]["command"]
        == "/usr/bin/env -u AT_DASHBOARDS_PASSWORD -u AT_WEBHOOK_SECRET -- /venv/bin/python -m agentic_trading.agents risk"
    )
    assert gateway["autorestart"] == "true"
    assert gateway["stopasgroup"] == gateway["killasgroup"] == "true"
    assert gateway["stdout_logfile"] == str(paths.log_file("gateway"))
    # Our programs write and rotate their own log (telemetry/log_file.py); supervisord must not rotate it.
    assert gateway["stdout_logfile_maxbytes"] == "0"
    assert f'AT_LOG_FILE="{paths.log_file("gateway")}"' in gateway["environment"]
    # A daemon's output is still copied and rotated by supervisord, and it is not told of a log file.
    assert parser["program:nats"]["stdout_logfile_maxbytes"] == "50MB"
    assert "AT_LOG_FILE" not in parser["program:nats"]["environment"]
    assert parser["unix_http_server"]["file"] == str(paths.socket)
    assert parser["supervisord"]["pidfile"] == str(paths.supervisord_pid)


def test_infrastructure_starts_before_services_and_stops_after(settings: Settings, stub_observability: types.ModuleType) -> None:
    paths, _ = _render_all(settings)
    parser = _supervisord_sections(paths)
    priority = {name: int(parser[f"program:{name}"]["priority"]) for name in PROGRAM_NAMES}
    assert priority["nats"] < priority["gateway"] < priority["traffic"]
    assert priority["redis"] < priority["orchestrator"]


def test_supervisord_accepts_the_rendered_conf(settings: Settings, stub_observability: types.ModuleType) -> None:
    from supervisor.options import ServerOptions

    paths, _ = _render_all(settings)
    options = ServerOptions()
    options.realize(args=["-c", str(paths.supervisord_conf)])
    names = {group.name for group in options.process_group_configs}
    assert names == set(PROGRAM_NAMES)
    env = next(g for g in options.process_group_configs if g.name == "gateway").process_configs[0].environment
    assert env["AT_PORT_OFFSET"] == "43000"
    assert env["PYTHONUNBUFFERED"] == "1"


def test_ports_are_shifted_by_the_offset(settings: Settings, stub_observability: types.ModuleType) -> None:
    paths, rendered = _render_all(settings)
    nats_conf = paths.config_file("nats.conf").read_text()
    assert "port: 47222" in nats_conf
    assert '"127.0.0.1:51222"' in nats_conf  # monitoring
    assert "port 49379" in paths.config_file("redis.conf").read_text()
    assert "--web.listen-address=127.0.0.1:52090" in rendered.commands["prometheus"]
    assert 'AT_PORT_OFFSET="43000"' in paths.supervisord_conf.read_text()


def test_the_webhook_secret_is_written_nowhere(settings: Settings, stub_observability: types.ModuleType) -> None:
    paths, _ = _render_all(settings)
    secret = settings.webhook_secret.get_secret_value()  # type: ignore[union-attr]
    for path in paths.state_dir.rglob("*"):
        if path.is_file():
            assert secret not in path.read_text(), f"secret leaked into {path}"
    assert "AT_WEBHOOK_SECRET=" not in paths.supervisord_conf.read_text()  # named only to unset it (env -u)


def test_rendering_without_observability_programs_does_not_need_that_module(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "agentic_trading.stack.observability", None)  # import would fail
    paths, rendered = _render_all(settings, select_programs(["nats", "redis", "gateway"]))
    assert set(rendered.commands) == {"nats", "redis", "gateway"}


def test_second_render_reports_only_what_changed(settings: Settings, stub_observability: types.ModuleType) -> None:
    programs = select_programs(["nats", "redis"])
    _, first = _render_all(settings, programs)
    assert first.changed == {"nats", "redis"}
    _, again = _render_all(settings, programs)
    assert again.changed == set()


def test_redis_conf_is_a_bounded_loopback_server(settings: Settings) -> None:
    paths = StackPaths.of(settings.state_dir)
    conf = render_redis_conf(settings, paths, ensure_credentials(paths))
    assert "bind 127.0.0.1" in conf
    assert "maxmemory 256mb" in conf
    assert "maxmemory-policy noeviction" in conf
    assert "appendonly yes" in conf
    assert "daemonize no" in conf


@pytest.mark.skipif(shutil.which("nats-server", path="/usr/sbin:/usr/bin") is None, reason="nats-server not installed")
def test_nats_server_accepts_the_rendered_conf(settings: Settings, tmp_path: Path) -> None:
    conf = tmp_path / "nats.conf"
    paths = StackPaths.of(settings.state_dir)
    conf.write_text(render_nats_conf(settings, paths, ensure_credentials(paths)))
    binary = shutil.which("nats-server", path="/usr/sbin:/usr/bin")
    result = subprocess.run([binary, "-t", "-c", str(conf)], capture_output=True, text=True, timeout=10)  # type: ignore[list-item]
    assert result.returncode == 0, result.stderr


def test_environment_escapes_percent_and_refuses_quotes() -> None:
    assert render_environment({"A": "50%"}) == 'A="50%%"'
    with pytest.raises(StackError, match="AT_X"):
        render_environment({"AT_X": 'say "hi"'})


def test_render_with_the_real_observability_module(settings: Settings) -> None:
    """The observability module's commands fit the program table: every binary exists, ports shifted."""
    pytest.importorskip("agentic_trading.stack.observability")
    paths, rendered = _render_all(settings)
    for name in ("prometheus", "alertmanager", "redis-exporter"):
        command = rendered.commands[name]
        assert shutil.which(command[0]) or Path(command[0]).exists(), f"{name}: {command[0]} missing"
    assert any("52090" in arg for arg in rendered.commands["prometheus"])
    assert any("52093" in arg for arg in rendered.commands["alertmanager"])
    assert any("52121" in arg for arg in rendered.commands["redis-exporter"])


@pytest.mark.parametrize(("profile", "evaluation", "resend_flag"), [("fast", "1s", True), ("production", "15s", False)])
def test_the_settings_profile_chooses_the_alert_timings(
    settings: Settings, profile: str, evaluation: str, resend_flag: bool
) -> None:
    """`atctl up --profile` (Settings.profile) reaches the rendered Prometheus config and command line."""
    pytest.importorskip("agentic_trading.stack.observability")
    paths, rendered = _render_all(replace_settings(settings, profile=profile))
    prometheus_yml = (paths.config_dir / "observability" / "prometheus.yml").read_text()
    assert f"(profile {profile})" in prometheus_yml
    assert f"evaluation_interval: {evaluation}" in prometheus_yml
    assert ("--rules.alert.resend-delay=1s" in rendered.commands["prometheus"]) is resend_flag
