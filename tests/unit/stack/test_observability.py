"""agentic_trading.stack.observability: one stack's Prometheus/Alertmanager files and commands.

What a user would notice: a second stack scraping the first one's ports, a fast stack
that takes minutes to alert, notifications sent to the wrong receiver, a config that
Prometheus refuses at start.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentic_trading.alerts.shutdown import SHUTDOWN_RESOLVE_TIMEOUT_S
from agentic_trading.observability import ObservabilityError
from agentic_trading.observability.durations import parse_duration
from agentic_trading.observability.fast import scale_range_windows
from agentic_trading.settings import Settings
from agentic_trading.stack.observability import (
    PROMETHEUS_FLAGS_FAST,
    ObservabilityFiles,
    alertmanager_command,
    default_source_dir,
    prometheus_command,
    redis_exporter_command,
    render_observability,
)

OFFSET = 40000
SOURCE = default_source_dir()


@pytest.fixture
def offset_settings(tmp_path: Path) -> Settings:
    return Settings(state_dir=tmp_path / "state", port_offset=OFFSET)


@pytest.fixture
def fast(offset_settings: Settings, tmp_path: Path) -> ObservabilityFiles:
    return render_observability(offset_settings, tmp_path / "fast", profile="fast")


@pytest.fixture
def production(offset_settings: Settings, tmp_path: Path) -> ObservabilityFiles:
    return render_observability(offset_settings, tmp_path / "production", profile="production")


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def _alerts(files: ObservabilityFiles) -> dict[str, dict[str, Any]]:
    return {
        rule["alert"]: rule
        for path in sorted((files.rules_dir / "alerts").glob("*.yml"))
        for group in _yaml(path)["groups"]
        for rule in group["rules"]
    }


def _targets(config: dict[str, Any]) -> dict[str, str]:
    """service label -> target, for every static target."""
    return {
        static["labels"]["service"]: static["targets"][0] for job in config["scrape_configs"] for static in job["static_configs"]
    }


def _run(*command: str) -> str:
    binary = shutil.which(command[0])
    if binary is None:
        pytest.fail(f"{command[0]} is not installed: apt-get install prometheus prometheus-alertmanager")
    result = subprocess.run([binary, *command[1:]], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


# --- ports and addresses follow the settings -------------------------------------------


def test_every_target_moves_with_the_port_offset(fast: ObservabilityFiles, offset_settings: Settings) -> None:
    config = _yaml(fast.prometheus_config)
    targets = _targets(config)
    assert targets["gateway"] == f"127.0.0.1:{8001 + OFFSET}"
    assert targets["agent-momentum"] == f"127.0.0.1:{8101 + OFFSET}"
    assert targets["agent-correlation"] == f"127.0.0.1:{8104 + OFFSET}"
    assert targets["process-exporter"] == f"127.0.0.1:{9256 + OFFSET}"
    for service, target in targets.items():
        assert target == f"{offset_settings.host}:{offset_settings.port(service)}", service
    alertmanagers = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert alertmanagers == [f"127.0.0.1:{9093 + OFFSET}"]


def test_source_ports_are_the_default_ports(tmp_path: Path) -> None:
    """Rendering for a default stack reproduces the source file's targets exactly."""
    rendered = render_observability(Settings(), tmp_path, profile="production")
    assert _targets(_yaml(rendered.prometheus_config)) == _targets(_yaml(SOURCE / "prometheus.yml"))


def test_targets_use_the_settings_host(tmp_path: Path) -> None:
    settings = Settings(host="127.0.0.2", port_offset=5)
    files = render_observability(settings, tmp_path)
    assert set(_targets(_yaml(files.prometheus_config)).values()) == {
        f"127.0.0.2:{settings.port(service)}" for service in _targets(_yaml(SOURCE / "prometheus.yml"))
    }


def test_every_notification_goes_to_the_stacks_receiver(fast: ObservabilityFiles, offset_settings: Settings) -> None:
    config = _yaml(fast.alertmanager_config)
    urls = {hook["url"] for receiver in config["receivers"] for hook in receiver["webhook_configs"]}
    assert urls == {f"http://127.0.0.1:{8301 + OFFSET}/alerts"} == {offset_settings.url("receiver") + "/alerts"}
    assert all(hook["send_resolved"] for receiver in config["receivers"] for hook in receiver["webhook_configs"])


def test_rule_files_point_at_the_rendered_copies(fast: ObservabilityFiles) -> None:
    rule_files = _yaml(fast.prometheus_config)["rule_files"]
    assert rule_files == [str(fast.rules_dir / "rules" / "*.yml"), str(fast.rules_dir / "alerts" / "*.yml")]
    assert sorted(p.name for p in (fast.rules_dir / "alerts").glob("*.yml")) == sorted(
        p.name for p in (SOURCE / "prometheus" / "alerts").glob("*.yml")
    )


# --- the fast profile -----------------------------------------------------------------


def test_fast_profile_scrapes_and_evaluates_every_second(fast: ObservabilityFiles) -> None:
    assert _yaml(fast.prometheus_config)["global"] == {
        "scrape_interval": "1s",
        "evaluation_interval": "1s",
        "scrape_timeout": "900ms",
    }


def test_fast_profile_alerts_fire_without_waiting(fast: ObservabilityFiles) -> None:
    hold = _yaml(SOURCE / "config.yaml")["fast_profile"]["hold"]
    alerts = _alerts(fast)
    assert alerts, "no alerts rendered"
    for name, rule in alerts.items():
        if name == "Watchdog":
            assert "for" not in rule
            continue
        assert rule["for"] == hold.get(name, "0s"), name
    # Only the alerts that would fire falsely on a busy test stack keep a hold time: the
    # Down alerts outlast a planned restart and a scrape timeout (10 s), HighCPU a 20 s
    # load test (docs/alerting.md); everything else seconds at most.
    held = {name: parse_duration(rule["for"]) for name, rule in alerts.items() if parse_duration(rule.get("for", "0s")) > 0}
    downs = {"GatewayDown", "AgentDown", "OrchestratorDown", "TargetDown", "NATSServerDown", "RedisDown"}
    longer = {"HighCPU", "OrchestratorDegradedWorkflows"}  # outlast a 20 s load test, a 20 s window
    assert set(held) == downs | longer | {"NATSPublishFailure", "AgentStalled", "NATSConsumerLag"}
    assert all(held[name] == 10 for name in downs)
    assert all(held[name] > 20 for name in longer)
    assert all(seconds <= 5 for name, seconds in held.items() if name not in downs | longer)


def test_fast_profile_shortens_alert_windows_fifteenfold(fast: ObservabilityFiles) -> None:
    production = {
        rule["alert"]: rule
        for path in (SOURCE / "prometheus" / "alerts").glob("*.yml")
        for group in _yaml(path)["groups"]
        for rule in group["rules"]
    }
    for name, rule in _alerts(fast).items():
        expected = scale_range_windows(production[name]["expr"], 1 / 15)
        assert rule["expr"] == expected, name
    error_rate = _alerts(fast)["GatewayHighErrorRate"]["expr"]
    assert "[20s]" in error_rate and "[5m]" not in error_rate


def test_fast_profile_keeps_recording_rules_as_named(fast: ObservabilityFiles) -> None:
    """`..._rate5m` must stay a 5-minute rate, whatever the profile; the SLO error ratios,
    named by their window's role (page_long), scale with the burn-rate alerts."""
    for path in (SOURCE / "prometheus" / "rules").glob("*.yml"):
        if path.name == "slos.yml":
            continue
        assert _yaml(fast.rules_dir / "rules" / path.name) == _yaml(path)
    slo_rules = _yaml(fast.rules_dir / "rules" / "slos.yml")["groups"][0]["rules"]
    windows = {rule["record"]: rule["expr"] for rule in slo_rules if rule["labels"]["slo"] == "webhook-availability"}
    assert "[20s]" in windows["slo:error_ratio:page_short"] and "[10m]" in windows["slo:error_ratio:page_long"]
    assert "[2m]" in windows["slo:error_ratio:ticket_short"] and "[1h]" in windows["slo:error_ratio:ticket_long"]


def test_fast_profile_notifies_at_once(fast: ObservabilityFiles) -> None:
    route = _yaml(fast.alertmanager_config)["route"]
    assert (route["group_wait"], route["group_interval"], route["repeat_interval"]) == ("0s", "1s", "1h")
    watchdog = next(r for r in route["routes"] if r["receiver"] == "watchdog")
    # The dead man's switch every 5 s: the receiver notices a silent alert path in 15 s.
    assert (watchdog["group_wait"], watchdog["group_interval"], watchdog["repeat_interval"]) == ("0s", "1s", "5s")
    # Every route notifies at once but consumer lag, gathered into one notification per incident.
    lag = next(r for r in route["routes"] if r.get("matchers") == ['alertname="NATSConsumerLag"'])
    assert (lag["group_wait"], lag["group_interval"]) == ("5s", "10s")
    # `atctl down` waits for the resolved notification of every open alert: longer than any tick.
    longest = max(parse_duration(child.get("group_interval", route["group_interval"])) for child in route["routes"])
    assert SHUTDOWN_RESOLVE_TIMEOUT_S > longest
    for child in route["routes"]:
        if child is not lag:
            assert parse_duration(child.get("group_interval", "1s")) <= 1
        assert parse_duration(child.get("repeat_interval", "1h")) <= 3600


# --- the production profile -------------------------------------------------------------


def test_production_profile_keeps_every_timing(production: ObservabilityFiles) -> None:
    assert _yaml(production.prometheus_config)["global"] == {"scrape_interval": "15s", "evaluation_interval": "15s"}
    source_alerts = {path.name: _yaml(path)["groups"] for path in (SOURCE / "prometheus" / "alerts").glob("*.yml")}
    runbooks = (SOURCE.parent / "docs" / "runbooks").resolve().as_uri() + "/"
    for name, groups in source_alerts.items():
        rendered = _yaml(production.rules_dir / "alerts" / name)["groups"]
        for group in groups:  # the one change: runbook links that open on this machine
            for rule in group["rules"]:
                url = rule["annotations"]["runbook_url"]
                rule["annotations"]["runbook_url"] = url.replace("docs/runbooks/", runbooks, 1)
        assert rendered == groups
    route = _yaml(production.alertmanager_config)["route"]
    assert (route["group_wait"], route["group_interval"], route["repeat_interval"]) == ("30s", "5m", "4h")


# --- rendered files are accepted by the real tools ---------------------------------------


@pytest.mark.parametrize("profile", ["fast", "production"])
def test_rendered_files_pass_promtool_and_amtool(offset_settings: Settings, tmp_path: Path, profile: str) -> None:
    files = render_observability(offset_settings, tmp_path, profile=profile)
    checked = _run("promtool", "check", "config", str(files.prometheus_config))
    rule_files = [*SOURCE.glob("prometheus/rules/*.yml"), *SOURCE.glob("prometheus/alerts/*.yml")]
    assert f"{len(rule_files)} rule files found" in checked
    _run("promtool", "check", "rules", *map(str, sorted(files.rules_dir.glob("*/*.yml"))))
    _run("amtool", "check-config", str(files.alertmanager_config))


def test_rendering_again_drops_rule_files_the_source_no_longer_has(fast: ObservabilityFiles, tmp_path: Path) -> None:
    stale = fast.rules_dir / "alerts" / "removed.yml"
    stale.write_text("groups: []\n")
    render_observability(Settings(port_offset=OFFSET), tmp_path / "fast", profile="fast")
    assert not stale.exists()


# --- mistakes are reported with the fix ---------------------------------------------------


def test_unknown_profile_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ObservabilityError, match="use one of: fast, production"):
        render_observability(Settings(), tmp_path, profile="quick")


def test_missing_source_names_the_option(tmp_path: Path) -> None:
    with pytest.raises(ObservabilityError, match="source_dir="):
        render_observability(Settings(), tmp_path / "out", source_dir=tmp_path / "nowhere")


def _copy_source(tmp_path: Path) -> Path:
    copy = tmp_path / "source"
    shutil.copytree(SOURCE, copy)
    return copy


def test_a_target_without_a_component_label_is_refused(tmp_path: Path) -> None:
    source = _copy_source(tmp_path)
    config = _yaml(source / "prometheus.yml")
    config["scrape_configs"][0]["static_configs"][0]["labels"] = {}
    (source / "prometheus.yml").write_text(yaml.safe_dump(config))
    with pytest.raises(ObservabilityError, match="job 'gateway'.*`service` label"):
        render_observability(Settings(), tmp_path / "out", source_dir=source)


def test_a_target_naming_an_unknown_component_is_refused(tmp_path: Path) -> None:
    source = _copy_source(tmp_path)
    config = _yaml(source / "prometheus.yml")
    config["scrape_configs"][0]["static_configs"][0]["labels"] = {"service": "gateway-canary"}
    (source / "prometheus.yml").write_text(yaml.safe_dump(config))
    with pytest.raises(ObservabilityError, match="'gateway-canary' is not a stack component"):
        render_observability(Settings(), tmp_path / "out", source_dir=source)


def test_a_subquery_in_an_alert_is_refused_in_the_fast_profile(tmp_path: Path) -> None:
    source = _copy_source(tmp_path)
    path = source / "prometheus" / "alerts" / "gateway.yml"
    path.write_text(path.read_text().replace('up{job="gateway"} == 0', 'max_over_time(up{job="gateway"}[5m:1m]) == 0'))
    with pytest.raises(ObservabilityError, match="GatewayDown.*subquery"):
        render_observability(Settings(), tmp_path / "out", source_dir=source)


# --- command lines ------------------------------------------------------------------------


def test_prometheus_command(fast: ObservabilityFiles, production: ObservabilityFiles, tmp_path: Path) -> None:
    settings = Settings(port_offset=OFFSET)
    command = prometheus_command(settings, fast, tmp_path / "tsdb")
    assert command[0] == "/usr/bin/prometheus"
    assert f"--config.file={fast.prometheus_config}" in command
    assert f"--web.listen-address=127.0.0.1:{9090 + OFFSET}" in command
    assert f"--storage.tsdb.path={tmp_path / 'tsdb'}" in command
    assert "--storage.tsdb.retention.time=1d" in command
    # The lifecycle API (/-/quit, /-/reload) stays off: anyone who reaches the port could stop Prometheus.
    assert not any(arg.startswith("--web.enable-lifecycle") for arg in command)
    assert set(PROMETHEUS_FLAGS_FAST) <= set(command)
    assert not set(PROMETHEUS_FLAGS_FAST) & set(prometheus_command(settings, production, tmp_path / "tsdb"))


def test_alertmanager_command_runs_one_node_without_gossip(fast: ObservabilityFiles, tmp_path: Path) -> None:
    command = alertmanager_command(Settings(port_offset=OFFSET), fast, tmp_path / "am")
    assert command == [
        "/usr/bin/prometheus-alertmanager",
        f"--config.file={fast.alertmanager_config}",
        f"--web.listen-address=127.0.0.1:{9093 + OFFSET}",
        f"--storage.path={tmp_path / 'am'}",
        "--cluster.listen-address=",
    ]


def test_redis_exporter_command_watches_the_stacks_redis() -> None:
    assert redis_exporter_command(Settings(port_offset=OFFSET)) == [
        "/usr/bin/prometheus-redis-exporter",
        "-redis.addr",
        f"redis://127.0.0.1:{6379 + OFFSET}",
        "-web.listen-address",
        f"127.0.0.1:{9121 + OFFSET}",
    ]
    remote = Settings(AT_REDIS_URL="redis://db.example:6380/0")
    assert redis_exporter_command(remote)[2] == "redis://db.example:6380/0"


def test_redis_exporter_password_comes_from_a_file_never_the_command_line(tmp_path: Path) -> None:
    command = redis_exporter_command(Settings(), tmp_path / "map")
    assert command[-4:] == ["-redis.user", "redis-exporter", "-redis.password-file", str(tmp_path / "map")]
    assert "-redis.password" not in command


def test_redis_exporter_flags_exist() -> None:
    """The flag names are the exporter's own (single dash), as its --help lists them."""
    binary = shutil.which("prometheus-redis-exporter")
    if binary is None:
        pytest.fail("prometheus-redis-exporter is not installed: apt-get install prometheus-redis-exporter")
    help_text = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=10).stderr
    flags = [arg for arg in redis_exporter_command(Settings(), Path("/x")) if arg.startswith("-")]
    for flag in flags:
        assert re.search(rf"^\s+{re.escape(flag)}\b", help_text, re.MULTILINE), f"{flag} not in --help"
