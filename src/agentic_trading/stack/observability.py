"""Write one stack's Prometheus and Alertmanager configuration, and the commands that run them.

The repository's ``observability/`` tree is the single source (production settings,
default ports on loopback). :func:`render_observability` loads it with
:func:`agentic_trading.observability.load_tree` and writes what
:func:`agentic_trading.observability.render.render_stack` makes of it for one stack:
ports moved by the stack's offset, the receiver URL, and in the ``"fast"`` profile
(what ``atctl up`` and the tests run) 1 s clocks and short hold times
(:mod:`agentic_trading.observability.fast`). This module only writes files and builds
command lines.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from agentic_trading.credentials import REDIS_EXPORTER
from agentic_trading.observability import ObservabilityError, default_root, load_tree
from agentic_trading.observability.render import PROFILES, WebAuth, check_profile, render_stack
from agentic_trading.settings import Settings
from agentic_trading.stack.access import redis_exporter_address
from agentic_trading.stack.web_tls import WebFiles
from agentic_trading.web_access import RECEIVER_USER

__all__ = ["PROFILES", "ObservabilityFiles", "default_source_dir", "render_observability"]

PROMETHEUS_BINARY = "/usr/bin/prometheus"
ALERTMANAGER_BINARY = "/usr/bin/prometheus-alertmanager"
REDIS_EXPORTER_BINARY = "/usr/bin/prometheus-redis-exporter"
PROMETHEUS_RETENTION = "1d"
# A lost POST to Alertmanager is retried after 2 s instead of 1 min; a Prometheus
# outage over ~2 s then shows in Alertmanager as a (false) "resolved".
PROMETHEUS_FLAGS_FAST: tuple[str, ...] = ("--rules.alert.resend-delay=1s",)


@dataclass(frozen=True)
class ObservabilityFiles:
    """Where :func:`render_observability` wrote one stack's configuration."""

    prometheus_config: Path
    alertmanager_config: Path
    # Holds rules/*.yml (recording) and alerts/*.yml, as prometheus.yml loads them.
    rules_dir: Path
    profile: str
    web_configs: dict[str, Path] | None = None  # component -> its --web.config.file, on a secured stack


def default_source_dir() -> Path:
    """The repository's ``observability/``."""
    return default_root()


def render_observability(
    settings: Settings,
    out_dir: Path,
    *,
    profile: str = "fast",
    source_dir: Path | None = None,
    web: WebFiles | None = None,
) -> ObservabilityFiles:
    """Write prometheus.yml, alertmanager.yml and the rule files for one stack into ``out_dir``.

    With ``web`` (a secured stack: ``stack/web_tls.py``), both run behind its web.yml and every
    client in these files (self-scrapes, the Alertmanager client, the webhooks) authenticates.

    ``out_dir`` mirrors the source layout (``prometheus.yml``, ``prometheus/rules``,
    ``prometheus/alerts``, ``alertmanager/alertmanager.yml``); rule directories are
    replaced on every render, so a deleted source file does not linger.
    """
    check_profile(profile)
    source = Path(source_dir) if source_dir is not None else default_source_dir()
    if not (source / "prometheus.yml").is_file():
        raise ObservabilityError(f"no prometheus.yml in {source}: pass source_dir= the repository's observability/ directory")
    out = Path(out_dir)
    auth = None
    if web is not None:
        auth = WebAuth(settings.web_user, web.admin_password_file, web.ca_file, RECEIVER_USER, web.receiver_password_file)
    texts = render_stack(load_tree(source), settings, out, profile, auth)
    for kind in ("rules", "alerts"):
        target = out / "prometheus" / kind
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
    for relative, text in texts.items():
        _write(out / relative, text)
    return ObservabilityFiles(
        prometheus_config=out / "prometheus.yml",
        alertmanager_config=out / "alertmanager" / "alertmanager.yml",
        rules_dir=out / "prometheus",
        profile=profile,
        web_configs=web.web_configs if web is not None else None,
    )


def _web_command(
    binary: str, program: str, config_file: Path, settings: Settings, files: ObservabilityFiles, *flags: str
) -> list[str]:
    """``binary`` on ``config_file``, listening on ``program``'s port, then ``flags``.

    Prometheus and Alertmanager share the exporter toolkit's web flags: ``--web.listen-address``,
    and ``--web.config.file`` (TLS and basic auth) when the stack renders web configs.
    """
    command = [
        binary,
        f"--config.file={config_file}",
        f"--web.listen-address={settings.web_bind_host}:{settings.port(program)}",
        *flags,
    ]
    if files.web_configs is not None:
        command.append(f"--web.config.file={files.web_configs[program]}")
    return command


def prometheus_command(settings: Settings, files: ObservabilityFiles, data_dir: Path) -> list[str]:
    """The command line that runs Prometheus on the rendered files."""
    fast = PROMETHEUS_FLAGS_FAST if files.profile == "fast" else ()
    return _web_command(
        PROMETHEUS_BINARY,
        "prometheus",
        files.prometheus_config,
        settings,
        files,
        f"--storage.tsdb.path={data_dir}",
        f"--storage.tsdb.retention.time={PROMETHEUS_RETENTION}",
        *fast,
    )


def alertmanager_command(settings: Settings, files: ObservabilityFiles, data_dir: Path) -> list[str]:
    """The command line that runs a single, non-clustered Alertmanager on the rendered file."""
    return _web_command(
        ALERTMANAGER_BINARY,
        "alertmanager",
        files.alertmanager_config,
        settings,
        files,
        f"--storage.path={data_dir}",
        # No gossip: one node, and no port 9094 taken behind the stack's back.
        "--cluster.listen-address=",
    )


def redis_exporter_command(settings: Settings, password_file: Path | None = None) -> list[str]:
    """The command line of prometheus-redis-exporter, as the ACL user ``redis-exporter``.

    The password is read from ``password_file`` (JSON ``{"<redis address>": "<password>"}``,
    the exporter's format), never given on the command line, which any local user can read.
    """
    command = [
        REDIS_EXPORTER_BINARY,
        "-redis.addr",
        redis_exporter_address(settings),
        "-web.listen-address",
        f"{settings.host}:{settings.port('redis-exporter')}",
    ]
    if password_file is not None:
        command += ["-redis.user", REDIS_EXPORTER, "-redis.password-file", str(password_file)]
    return command


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
