"""Every setting of every service, typed, read once from the environment (``AT_*``).

One source of truth: ``atctl up`` renders each supervised program's environment
from a :class:`Settings` object, and each service builds its own ``Settings``
from that environment. Ports are *base* ports; ``AT_PORT_OFFSET`` shifts every
one of them, so a second stack (the tests', say) runs beside a user's with a
single option.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import tomllib
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from agentic_trading.errors import AgenticTradingError

AGENT_TYPES: tuple[str, ...] = ("momentum", "risk", "sentiment", "correlation")

# Component name -> the Settings field that holds its base port.
_PORT_FIELDS: dict[str, str] = {
    "gateway": "gateway_port",
    "agent-momentum": "momentum_port",
    "agent-risk": "risk_port",
    "agent-sentiment": "sentiment_port",
    "agent-correlation": "correlation_port",
    "orchestrator": "orchestrator_port",
    "receiver": "receiver_port",
    "canary": "canary_port",
    "nats": "nats_port",
    "nats-monitor": "nats_monitor_port",
    "nats-exporter": "nats_exporter_port",
    "redis": "redis_port",
    "redis-exporter": "redis_exporter_port",
    "process-exporter": "process_exporter_port",
    "prometheus": "prometheus_port",
    "alertmanager": "alertmanager_port",
    "dashboards": "dashboards_port",
}

# The components behind --web.config.file (basic auth and TLS when secured: docs/security.md).
WEB_COMPONENTS: tuple[str, ...] = ("prometheus", "alertmanager")


def is_loopback(address: str) -> bool:
    """Whether a bind address only accepts connections from this machine.

    ``0.0.0.0``, ``::`` and an empty host mean every interface; a host name other than
    ``localhost`` is taken as reachable from outside.
    """
    host = address.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Settings(BaseSettings):
    """All configuration. Environment variables are the field names upper-cased with ``AT_``."""

    model_config = SettingsConfigDict(env_prefix="AT_", extra="ignore", frozen=True)

    # Where a local stack keeps rendered config, data and logs.
    state_dir: Path = Path(".atctl")
    # Address every local service binds to; loopback unless you mean it.
    host: str = "127.0.0.1"
    # Address Prometheus and Alertmanager listen on and are reached at; unset: AT_HOST. Off loopback
    # (e.g. a private address another node's Grafana reads) they require basic auth and TLS.
    web_host: str | None = None
    # Basic auth and TLS (--web.config.file) for Prometheus and Alertmanager on loopback too; always on
    # off loopback. The credentials atctl uses are generated into <state_dir>/secrets/ by atctl up.
    web_auth: bool = False
    # The basic-auth user atctl (and another node) gives Prometheus and Alertmanager.
    web_user: str = "admin"
    # Its password for a deployment elsewhere; unset: <state_dir>/secrets/web_admin of the local stack.
    web_password: SecretStr | None = None
    # CA certificate that signed their TLS certificate; unset: <state_dir>/secrets/ca.pem of the local stack.
    web_ca_file: Path | None = None
    # Further names (comma-separated) the stack's TLS certificate covers, e.g. the node's DNS name.
    web_tls_names: str = ""
    # Added to every base port, so a second stack runs beside another (atctl up refuses unsafe ones).
    port_offset: int = Field(0, ge=0, le=50000)

    gateway_port: int = 8001
    momentum_port: int = 8101
    risk_port: int = 8102
    sentiment_port: int = 8103
    correlation_port: int = 8104
    orchestrator_port: int = 8201
    receiver_port: int = 8301
    canary_port: int = 8401
    nats_port: int = 4222
    nats_monitor_port: int = 8222
    nats_exporter_port: int = 7777
    redis_port: int = 6379
    redis_exporter_port: int = 9121
    process_exporter_port: int = 9256
    prometheus_port: int = 9090
    alertmanager_port: int = 9093
    dashboards_port: int = 3000

    # NATS URL of a remote deployment (e.g. nats://host:4222); unset: the local stack's.
    nats_url_override: str | None = Field(None, alias="AT_NATS_URL")
    # Redis URL of a remote deployment (e.g. redis://host:6379/0); unset: the local stack's.
    redis_url_override: str | None = Field(None, alias="AT_REDIS_URL")

    # Gateway worker processes on the one port. Above 1 their metrics are summed through
    # prometheus_client's multiprocess mode (files in <state_dir>/gateway-metrics) and rate
    # limits apply per worker. One is the default: on two cores a second worker added CPU per
    # request, not throughput (docs/benchmarks.md, "Several gateway workers").
    gateway_workers: int = Field(1, ge=1, le=16)
    # Largest webhook body the gateway reads; larger: 413.
    max_body_bytes: int = 64 * 1024
    # Request line plus headers of one request, and how many headers; beyond either: 431.
    max_header_bytes: int = Field(16 * 1024, ge=1024)
    max_header_count: int = Field(64, ge=8)
    # The gateway answers 503 when JetStream has not acknowledged within this.
    publish_timeout_s: float = Field(1.5, gt=0, le=10)
    # JetStream deduplication window: a retried webhook inside it is one signal.
    dedup_window_s: float = Field(120.0, gt=0)
    # The orchestrator decides without the missing agents after this.
    decision_deadline_s: float = Field(2.0, gt=0)
    # Redis memory ceiling (redis.conf maxmemory) for the local stack.
    redis_maxmemory: str = "256mb"
    # Alert timings of the stack's Prometheus and Alertmanager (`atctl up --profile`): "fast" runs the
    # repository's rules with 1 s evaluation, short `for:` holds and scaled windows (alerts within
    # seconds; what the tests run); "production" runs observability/ exactly as written (minutes).
    profile: Literal["fast", "production"] = "fast"
    # Lowest level the services log: debug, info, warning, error.
    log_level: str = "info"
    # Shared secret of the webhooks (payload field `secret` or an HMAC header); unset: none needed.
    # Give it in the environment of `atctl up`; never in a config it renders or stack.json. atctl up
    # keeps a copy in <state_dir>/secrets/webhook_secret (0600) so atctl load and generate can sign.
    webhook_secret: SecretStr | None = None
    # Directory of Grafana JSON the dashboards viewer serves; unset: the repository's observability/grafana_dashboards.
    dashboards_dir: Path | None = None
    # Password of the dashboards viewer's user "admin"; required when AT_HOST is not loopback, asked on loopback too when set.
    # Never written to a file: give it in the environment of `atctl up`.
    dashboards_password: SecretStr | None = None

    # Gateway security (docs/security.md). Comma-separated CIDRs allowed to send webhooks; unset: any.
    allowed_sources: str | None = None
    # Take the client address from the last X-Forwarded-For entry (only behind a proxy you run).
    trust_proxy: bool = False
    # Token bucket per client address and gateway worker; 0 turns the rate limit off.
    rate_limit_per_s: float = Field(50.0, ge=0)
    # Requests a client may send at once before the rate limit applies.
    rate_limit_burst: int = Field(200, ge=1)
    # Client addresses the rate limit never applies to (the load tests run from loopback).
    rate_limit_exempt: str = "127.0.0.0/8,::1/128"
    # Publishes a worker may have waiting for JetStream; beyond it the gateway answers 503 at once.
    max_inflight_publishes: int = Field(1000, ge=1)
    # Seconds a client has to deliver its request body; later: 408.
    request_deadline_s: float = Field(10.0, gt=0)
    # Replay window: a signal whose timestamp is older (or further ahead) is refused; 0 turns it off.
    # Keep max_signal_age_s + max_clock_skew_s <= dedup_window_s, so a replay inside the window is a duplicate.
    max_signal_age_s: float = Field(90.0, ge=0)
    # How far ahead of the gateway's clock a signal's timestamp may be.
    max_clock_skew_s: float = Field(30.0, ge=0)
    # Refuse a payload without a timestamp (422): it cannot be recognised as a replay. Off by default.
    require_timestamp: bool = False

    @field_validator("webhook_secret", "dashboards_password", "web_password")
    @classmethod
    def _secret_not_blank(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            variable = f"AT_{str(info.field_name).upper()}"
            raise ValueError(f"{variable} is set but empty: unset it, or set a long random value")
        return value

    @field_validator("allowed_sources", "rate_limit_exempt")
    @classmethod
    def _cidr_list(cls, value: str | None) -> str | None:
        if value is None:
            return None
        for item in value.split(","):
            if item.strip():
                try:
                    ipaddress.ip_network(item.strip(), strict=False)
                except ValueError as exc:
                    raise ValueError(
                        f"{item.strip()!r} is not an address or CIDR (e.g. 52.89.214.238 or 10.0.0.0/8): {exc}"
                    ) from None
        return value

    # Where rendered alerts link their runbooks (e.g. https://git.example/at/blob/main/docs/runbooks/);
    # unset: file://<repository>/docs/runbooks/, the pages on this machine.
    runbook_base_url: str | None = None
    # The receiver's dead man's switch watcher expects a Watchdog notification this often until it
    # has seen two (then it learns the pace); missing after 3 intervals (receiver/watchdog.py).
    watchdog_interval_s: float = Field(60.0, gt=0)
    # The canary (agentic_trading.canary) sends one test signal through the pipeline this often.
    canary_interval_s: float = Field(2.0, gt=0)

    # Paper trading: the largest absolute position per instrument the risk agent allows.
    max_position_units: float = Field(5.0, gt=0)

    def port(self, component: str) -> int:
        """The effective port of a component (base port plus ``port_offset``)."""
        try:
            field = _PORT_FIELDS[component]
        except KeyError:
            raise KeyError(f"unknown component {component!r}; known: {', '.join(_PORT_FIELDS)}") from None
        return int(getattr(self, field)) + self.port_offset

    def url(self, component: str) -> str:
        """The HTTP base URL of a component of the local stack (https for a secured Prometheus/Alertmanager)."""
        if component in WEB_COMPONENTS:
            scheme = "https" if self.web_secured else "http"
            return f"{scheme}://{self.web_bind_host}:{self.port(component)}"
        return f"http://{self.host}:{self.port(component)}"

    @property
    def web_bind_host(self) -> str:
        """The address Prometheus and Alertmanager listen on."""
        return self.web_host or self.host

    @property
    def web_secured(self) -> bool:
        """Whether Prometheus and Alertmanager require basic auth and TLS (off loopback, or AT_WEB_AUTH)."""
        return self.web_auth or not is_loopback(self.web_bind_host)

    @property
    def components(self) -> tuple[str, ...]:
        return tuple(_PORT_FIELDS)

    @cached_property
    def nats_url(self) -> str:
        return self.nats_url_override or f"nats://{self.host}:{self.port('nats')}"

    @cached_property
    def redis_url(self) -> str:
        return self.redis_url_override or f"redis://{self.host}:{self.port('redis')}/0"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    def child_environment(self) -> dict[str, str]:
        """The ``AT_*`` environment that reproduces these settings in a child process."""
        env: dict[str, str] = {}
        for name, value in self.model_dump(by_alias=True).items():
            if value is None:
                continue
            key = name if name.startswith("AT_") else f"AT_{name.upper()}"
            if isinstance(value, SecretStr):
                # Never rendered into a file: supervisord passes its own environment on.
                continue
            env[key] = str(value)
        env["AT_STATE_DIR"] = str(self.state_dir.resolve())
        return env


CONFIG_FILE = "atctl.toml"


class ConfigFileError(AgenticTradingError):
    """The config file cannot be read: the message names the file, the line or key, and the fix."""

    exit_code = 2


def config_file_values(path: Path) -> dict[str, object]:
    """The settings in a TOML file (keys are the field names of :class:`Settings`)."""
    try:
        values = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError(f"{path}: {exc}: fix the TOML syntax there") from None
    except OSError as exc:
        raise ConfigFileError(f"{path} cannot be read ({exc.strerror}): check AT_CONFIG") from None
    known = set(Settings.model_fields)
    for key in values:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            raise ConfigFileError(f"{path}: unknown setting {key!r}: {hint}every setting is in docs/settings.md")
    return values


def find_config_file() -> Path | None:
    """``AT_CONFIG`` when set (it must exist), else ``atctl.toml`` in the working directory if present."""
    named = os.environ.get("AT_CONFIG")
    if named:
        return Path(named)
    local = Path(CONFIG_FILE)
    return local if local.is_file() else None


def load_settings(**overrides: object) -> Settings:
    """Options (``overrides``) over the environment over the config file over the defaults."""
    path = find_config_file()
    if path is not None:
        from_file = config_file_values(path)
        for name, value in from_file.items():
            field = Settings.model_fields[name]
            variable = (field.alias or f"AT_{name}").upper()
            if name not in overrides and variable not in os.environ:
                overrides[name] = value
    return Settings(**overrides)  # type: ignore[arg-type]
