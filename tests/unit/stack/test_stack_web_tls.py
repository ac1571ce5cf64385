"""Basic auth and TLS for Prometheus and Alertmanager: the files `atctl up` writes, and what points at them.

Real openssl, real bcrypt, and the real promtool and amtool judge the rendered configs.
"""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import bcrypt
import httpx
import pytest
import yaml

from agentic_trading.settings import Settings
from agentic_trading.stack.observability import alertmanager_command, prometheus_command, render_observability
from agentic_trading.stack.paths import StackPaths
from agentic_trading.stack.web_tls import WEB_CONFIGS, ensure_web_files, subject_alt_names
from agentic_trading.web_access import OriginAuth, web_client_options


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which(command[0])
    if binary is None:
        pytest.fail(f"{command[0]} is not installed: scripts/bootstrap.sh")
    return subprocess.run([binary, *command[1:]], capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
def secured(tmp_path: Path) -> Settings:
    return Settings(state_dir=tmp_path / "state", port_offset=700, web_host="0.0.0.0", web_tls_names="node-1.internal")


def test_off_loopback_or_asked_for_they_are_secured_and_reached_over_https(tmp_path: Path, secured: Settings):
    plain = Settings(state_dir=tmp_path)
    assert not plain.web_secured and plain.url("prometheus") == "http://127.0.0.1:9090"
    assert Settings(state_dir=tmp_path, web_auth=True).url("alertmanager") == "https://127.0.0.1:9093"
    assert secured.web_secured and secured.url("prometheus") == "https://0.0.0.0:9790"
    assert secured.url("gateway") == "http://127.0.0.1:8701"  # the services stay on AT_HOST
    assert Settings(state_dir=tmp_path, host="10.0.0.5").web_secured


def test_subject_alt_names_tell_addresses_from_names():
    assert subject_alt_names(["localhost", "127.0.0.1", "::1", "[::1]"]) == "DNS:localhost,IP:127.0.0.1,IP:::1,IP:::1"


def test_up_writes_a_ca_a_certificate_for_every_name_and_web_configs_with_a_bcrypt_hash(secured: Settings):
    paths = StackPaths.of(secured.state_dir)
    files = ensure_web_files(paths, secured)
    secrets = paths.state_dir / "secrets"
    for path in secrets.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o700
    verified = _run("openssl", "verify", "-CAfile", str(files.ca_file), str(secrets / "server.pem"))
    assert verified.returncode == 0, verified.stderr
    text = _run("openssl", "x509", "-in", str(secrets / "server.pem"), "-noout", "-ext", "subjectAltName").stdout
    assert all(name in text for name in ("DNS:localhost", "IP Address:127.0.0.1", "IP Address:0.0.0.0", "DNS:node-1.internal"))
    password = (secrets / "web_admin").read_text()
    for component, path in files.web_configs.items():
        document = yaml.safe_load(path.read_text())
        assert path.name == WEB_CONFIGS[component]
        assert document["tls_server_config"]["cert_file"].endswith("server.pem")
        assert bcrypt.checkpw(password.encode(), document["basic_auth_users"]["admin"].encode())


def test_a_second_up_keeps_everything_but_restores_a_reopened_config_and_reissues_for_new_names(secured: Settings):
    paths = StackPaths.of(secured.state_dir)
    files = ensure_web_files(paths, secured)
    secrets = paths.state_dir / "secrets"
    before = {p.name: p.read_bytes() for p in secrets.iterdir()}
    ensure_web_files(paths, secured)
    assert {p.name: p.read_bytes() for p in secrets.iterdir()} == before  # not even a new bcrypt salt

    opened = files.web_configs["prometheus"]
    document = yaml.safe_load(opened.read_text())
    del document["basic_auth_users"]
    opened.write_text(yaml.safe_dump(document))
    ensure_web_files(paths, secured)
    assert "admin" in yaml.safe_load(opened.read_text())["basic_auth_users"]

    ensure_web_files(paths, secured.model_copy(update={"web_tls_names": "node-2.internal"}))
    assert (secrets / "ca.pem").read_bytes() == before["ca.pem"]  # clients keep trusting the same CA
    assert (secrets / "server.pem").read_bytes() != before["server.pem"]


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def test_prometheus_and_alertmanager_configs_carry_the_credentials_and_the_tools_accept_them(secured: Settings, tmp_path: Path):
    paths = StackPaths.of(secured.state_dir)
    web = ensure_web_files(paths, secured)
    files = render_observability(secured, tmp_path / "observability", profile="fast", web=web)
    prometheus = _yaml(files.prometheus_config)
    jobs = {job["job_name"]: job for job in prometheus["scrape_configs"]}
    for name in ("prometheus", "alertmanager"):
        assert jobs[name]["scheme"] == "https" and jobs[name]["static_configs"][0]["targets"] == [f"0.0.0.0:{secured.port(name)}"]
        assert jobs[name]["basic_auth"] == {"username": "admin", "password_file": str(web.admin_password_file)}
        assert jobs[name]["tls_config"] == {"ca_file": str(web.ca_file)}
    assert "scheme" not in jobs["gateway"] and "basic_auth" not in jobs["gateway"]
    manager = prometheus["alerting"]["alertmanagers"][0]
    assert manager["scheme"] == "https" and manager["basic_auth"]["password_file"] == str(web.admin_password_file)
    password = web.admin_password_file.read_text()
    assert password not in files.prometheus_config.read_text() and password not in files.alertmanager_config.read_text()
    for receiver in _yaml(files.alertmanager_config)["receivers"]:
        for webhook in receiver.get("webhook_configs") or []:
            assert webhook["http_config"]["basic_auth"] == {
                "username": "alertmanager",
                "password_file": str(web.receiver_password_file),
            }

    for command in (
        ["promtool", "check", "config", str(files.prometheus_config)],
        ["amtool", "check-config", str(files.alertmanager_config)],
    ):
        checked = _run(*command)
        assert checked.returncode == 0, checked.stdout + checked.stderr
    for component in ("prometheus", "alertmanager"):
        checked = _run("promtool", "check", "web-config", str(web.web_configs[component]))
        assert checked.returncode == 0, checked.stdout + checked.stderr
    data = tmp_path / "data"
    assert f"--web.config.file={web.web_configs['prometheus']}" in prometheus_command(secured, files, data)
    assert f"--web.config.file={web.web_configs['alertmanager']}" in alertmanager_command(secured, files, data)
    plain = render_observability(Settings(state_dir=tmp_path / "plain"), tmp_path / "plain-observability", profile="fast")
    assert not any(arg.startswith("--web.config.file") for arg in prometheus_command(secured, plain, data))


def test_the_password_goes_to_prometheus_and_alertmanager_only(secured: Settings):
    ensure_web_files(StackPaths.of(secured.state_dir), secured)
    options = web_client_options(secured)
    auth = options["auth"]
    assert isinstance(auth, OriginAuth)

    def sent(url: str) -> str | None:
        request = httpx.Request("GET", url)
        return next(auth.auth_flow(request)).headers.get("Authorization")

    assert sent(secured.url("prometheus") + "/api/v1/query") is not None
    assert sent(secured.url("alertmanager") + "/api/v2/silences") is not None
    assert sent(secured.url("gateway") + "/healthz") is None
    assert sent("https://grafana.example:443/api/health") is None


def test_the_default_loopback_stack_needs_no_credentials_and_a_remote_one_takes_them_from_settings(tmp_path: Path):
    assert web_client_options(Settings(state_dir=tmp_path)) == {}
    remote = Settings(state_dir=tmp_path, web_password="from-the-environment")
    options = web_client_options(remote, "https://node-1:9090")
    request = next(options["auth"].auth_flow(httpx.Request("GET", "https://node-1:9090/api/v1/query")))
    assert request.headers["Authorization"].startswith("Basic ")
