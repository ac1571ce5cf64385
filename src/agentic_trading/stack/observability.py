"""Render one stack's Prometheus and Alertmanager configuration from ``observability/``.

The repository's ``observability/`` tree is the single source: production settings,
default ports on loopback. :func:`render_observability` writes a copy for one stack:

* every scrape target gets the stack's host and ``settings.port(<service label>)``,
  so a port offset moves all of them; Alertmanager and the receiver URL likewise;
* the ``"fast"`` profile (what ``atctl up`` and the tests run) applies the conclusions
  of the latency measurements in ``docs/measurements.md``: 1 s scrape and evaluation, a 900 ms scrape
  timeout, every alert's ``for`` set to its ``fast_for`` in ``thresholds.yaml`` (0s when
  absent), every range window in alert expressions scaled by fast/production
  evaluation interval (15s -> 1s: ``[5m]`` -> ``[20s]``, never under
  :data:`FAST_MIN_WINDOW_S`), and Alertmanager ``group_wait 0s``, ``group_interval 1s``,
  ``repeat_interval`` at most 1h;
* the ``"production"`` profile keeps every interval, window and hold time.

Recording rules are copied unchanged in both profiles: their names promise a window
(``..._rate5m``), and the alerts do not depend on them (except the window-free
``redis_memory_usage_percent``).
"""

from __future__ import annotations

import math
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from agentic_trading.settings import Settings
from agentic_trading.stack.errors import StackError

PROFILES: tuple[str, ...] = ("fast", "production")

PROMETHEUS_BINARY = "/usr/bin/prometheus"
ALERTMANAGER_BINARY = "/usr/bin/prometheus-alertmanager"
REDIS_EXPORTER_BINARY = "/usr/bin/prometheus-redis-exporter"
PROMETHEUS_RETENTION = "1d"

# The fast profile (docs/measurements.md, fault to alert notification).
FAST_SCRAPE_INTERVAL = "1s"
FAST_EVALUATION_INTERVAL = "1s"
FAST_SCRAPE_TIMEOUT = "900ms"
FAST_GROUP_WAIT = "0s"
FAST_GROUP_INTERVAL = "1s"  # 0s is refused by Alertmanager
FAST_REPEAT_INTERVAL = "1h"
# A lost POST to Alertmanager is retried after 2 s instead of 1 min; a Prometheus
# outage over ~2 s then shows in Alertmanager as a (false) "resolved".
PROMETHEUS_FLAGS_FAST: tuple[str, ...] = ("--rules.alert.resend-delay=1s",)
# Shortest range window after scaling: 4 scrapes, so rate() keeps 2 samples after a missed one.
FAST_MIN_WINDOW_S = 4.0

_HEADER = (
    "# Rendered by agentic_trading.stack.observability from {source} (profile {profile}).\n"
    "# Do not edit: edit the source and run `atctl up` again.\n"
)
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_DURATION_PART = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_DURATION = re.compile(r"^(?:\d+(?:ms|s|m|h|d|w|y))+$")
# A range selector: `[5m]`, `[1h30m]`. Subqueries (`[5m:1m]`) do not match and are refused.
_RANGE = re.compile(r"\[\s*((?:\d+(?:ms|s|m|h|d|w|y))+)\s*\]")
_SUBQUERY = re.compile(r"\[\s*(?:\d+(?:ms|s|m|h|d|w|y))+\s*:")


class ObservabilityConfigError(StackError):
    """The observability/ tree cannot be rendered; the message names the file and the fix."""


@dataclass(frozen=True)
class ObservabilityFiles:
    """Where :func:`render_observability` wrote one stack's configuration."""

    prometheus_config: Path
    alertmanager_config: Path
    # Holds rules/*.yml (recording) and alerts/*.yml, as prometheus.yml loads them.
    rules_dir: Path
    profile: str


def default_source_dir() -> Path:
    """The repository's ``observability/`` (src/agentic_trading/stack/ is three levels down)."""
    return Path(__file__).resolve().parents[3] / "observability"


def parse_duration(text: str) -> float:
    """Seconds in a Prometheus duration (``90s``, ``1h30m``, ``900ms``)."""
    value = str(text).strip()
    if not _DURATION.match(value):
        raise ObservabilityConfigError(f"{text!r} is not a Prometheus duration (e.g. 30s, 5m, 1h30m)")
    return sum(int(n) * _DURATION_UNITS[unit] for n, unit in _DURATION_PART.findall(value))


def format_duration(seconds: float) -> str:
    """The shortest Prometheus duration for whole seconds (or milliseconds under 1 s)."""
    if seconds < 0:
        raise ValueError(f"negative duration: {seconds}")
    if seconds == 0:
        return "0s"
    if seconds < 1 or seconds != int(seconds):
        return f"{round(seconds * 1000)}ms"
    whole = int(seconds)
    parts = []
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if whole >= size:
            parts.append(f"{whole // size}{unit}")
            whole %= size
    return "".join(parts)


def scale_range_windows(expr: str, factor: float, minimum_s: float = FAST_MIN_WINDOW_S) -> str:
    """Multiply every range window in a PromQL expression by ``factor``.

    Results are rounded up to whole seconds and never shorter than ``minimum_s``.
    Subqueries are refused rather than half-scaled.
    """
    if _SUBQUERY.search(expr):
        raise ObservabilityConfigError(f"cannot scale the windows of a subquery in: {expr.strip()}")

    def scaled(match: re.Match[str]) -> str:
        seconds = max(math.ceil(parse_duration(match.group(1)) * factor), minimum_s)
        return f"[{format_duration(seconds)}]"

    return _RANGE.sub(scaled, expr)


def render_observability(
    settings: Settings,
    out_dir: Path,
    *,
    profile: str = "fast",
    source_dir: Path | None = None,
) -> ObservabilityFiles:
    """Write prometheus.yml, alertmanager.yml and the rule files for one stack into ``out_dir``.

    ``out_dir`` mirrors the source layout (``prometheus.yml``, ``prometheus/rules``,
    ``prometheus/alerts``, ``alertmanager/alertmanager.yml``); rule directories are
    replaced on every render, so a deleted source file does not linger.
    """
    if profile not in PROFILES:
        raise ObservabilityConfigError(f"unknown observability profile {profile!r}; use one of: {', '.join(PROFILES)}")
    source = Path(source_dir) if source_dir is not None else default_source_dir()
    if not (source / "prometheus.yml").is_file():
        raise ObservabilityConfigError(
            f"no prometheus.yml in {source}: pass source_dir= the repository's observability/ directory"
        )
    out = Path(out_dir)
    rules_dir = out / "prometheus"
    fast = profile == "fast"

    prometheus = _load(source / "prometheus.yml")
    production_eval_s = parse_duration(prometheus.get("global", {}).get("evaluation_interval", "1m"))
    window_factor = parse_duration(FAST_EVALUATION_INTERVAL) / production_eval_s
    fast_for = _fast_for(source / "thresholds.yaml") if fast else {}

    for kind in ("rules", "alerts"):
        target = rules_dir / kind
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        for rule_file in sorted((source / "prometheus" / kind).glob("*.yml")):
            document = _load(rule_file)
            if fast and kind == "alerts":
                _make_alerts_fast(document, rule_file, fast_for, window_factor)
            if fast:
                for group in document.get("groups") or []:
                    if "interval" in group:
                        group["interval"] = FAST_EVALUATION_INTERVAL
            _dump(target / rule_file.name, document, rule_file, profile)

    _render_prometheus(prometheus, settings, rules_dir, fast)
    prometheus_config = out / "prometheus.yml"
    _dump(prometheus_config, prometheus, source / "prometheus.yml", profile)

    alertmanager_source = source / "alertmanager" / "alertmanager.yml"
    alertmanager = _load(alertmanager_source)
    _render_alertmanager(alertmanager, settings, fast)
    alertmanager_config = out / "alertmanager" / "alertmanager.yml"
    _dump(alertmanager_config, alertmanager, alertmanager_source, profile)

    return ObservabilityFiles(
        prometheus_config=prometheus_config,
        alertmanager_config=alertmanager_config,
        rules_dir=rules_dir,
        profile=profile,
    )


def prometheus_command(settings: Settings, files: ObservabilityFiles, data_dir: Path) -> list[str]:
    """The command line that runs Prometheus on the rendered files."""
    command = [
        PROMETHEUS_BINARY,
        f"--config.file={files.prometheus_config}",
        f"--web.listen-address={settings.host}:{settings.port('prometheus')}",
        f"--storage.tsdb.path={data_dir}",
        f"--storage.tsdb.retention.time={PROMETHEUS_RETENTION}",
        "--web.enable-lifecycle",
    ]
    if files.profile == "fast":
        command.extend(PROMETHEUS_FLAGS_FAST)
    return command


def alertmanager_command(settings: Settings, files: ObservabilityFiles, data_dir: Path) -> list[str]:
    """The command line that runs a single, non-clustered Alertmanager on the rendered file."""
    return [
        ALERTMANAGER_BINARY,
        f"--config.file={files.alertmanager_config}",
        f"--storage.path={data_dir}",
        f"--web.listen-address={settings.host}:{settings.port('alertmanager')}",
        # No gossip: one node, and no port 9094 taken behind the stack's back.
        "--cluster.listen-address=",
    ]


def redis_exporter_command(settings: Settings) -> list[str]:
    """The command line of prometheus-redis-exporter for the stack's Redis (or AT_REDIS_URL's)."""
    redis_address = settings.redis_url_override or f"redis://{settings.host}:{settings.port('redis')}"
    return [
        REDIS_EXPORTER_BINARY,
        "-redis.addr",
        redis_address,
        "-web.listen-address",
        f"{settings.host}:{settings.port('redis-exporter')}",
    ]


# --- rendering steps ---------------------------------------------------------------


def _render_prometheus(config: dict[str, Any], settings: Settings, rules_dir: Path, fast: bool) -> None:
    config["rule_files"] = [str(rules_dir / "rules" / "*.yml"), str(rules_dir / "alerts" / "*.yml")]
    if fast:
        config.setdefault("global", {}).update(
            scrape_interval=FAST_SCRAPE_INTERVAL,
            evaluation_interval=FAST_EVALUATION_INTERVAL,
            scrape_timeout=FAST_SCRAPE_TIMEOUT,
        )
    for job in config.get("scrape_configs") or []:
        if fast:
            job.pop("scrape_interval", None)
            job.pop("scrape_timeout", None)
        for static in job.get("static_configs") or []:
            service = (static.get("labels") or {}).get("service")
            if len(static.get("targets") or []) != 1 or not service:
                raise ObservabilityConfigError(
                    f"prometheus.yml job {job.get('job_name')!r}: give each static_config exactly one target "
                    "and a `service` label naming its component, so its port can follow the stack's"
                )
            static["targets"] = [f"{settings.host}:{_port(settings, service)}"]
    for manager in (config.get("alerting") or {}).get("alertmanagers") or []:
        for static in manager.get("static_configs") or []:
            static["targets"] = [f"{settings.host}:{settings.port('alertmanager')}"]


def _render_alertmanager(config: dict[str, Any], settings: Settings, fast: bool) -> None:
    receiver_url = settings.url("receiver") + "/alerts"
    for receiver in config.get("receivers") or []:
        for webhook in receiver.get("webhook_configs") or []:
            webhook["url"] = receiver_url
    if fast:
        for depth, route in _routes(config.get("route") or {}):
            if depth == 0 or "group_wait" in route:
                route["group_wait"] = FAST_GROUP_WAIT
            if depth == 0 or "group_interval" in route:
                route["group_interval"] = FAST_GROUP_INTERVAL
            if depth == 0:
                route["repeat_interval"] = FAST_REPEAT_INTERVAL
            elif "repeat_interval" in route:
                # A route that repeats more often than 1h (the Watchdog) keeps its pace.
                own = parse_duration(route["repeat_interval"])
                route["repeat_interval"] = format_duration(min(own, parse_duration(FAST_REPEAT_INTERVAL)))


def _make_alerts_fast(document: dict[str, Any], path: Path, fast_for: dict[str, str], window_factor: float) -> None:
    for group in document.get("groups") or []:
        for rule in group.get("rules") or []:
            if "alert" not in rule:
                continue
            try:
                rule["expr"] = scale_range_windows(str(rule["expr"]), window_factor)
            except ObservabilityConfigError as error:
                raise ObservabilityConfigError(f"{path}: alert {rule['alert']}: {error}") from error
            if "for" in rule:
                rule["for"] = fast_for.get(rule["alert"], "0s")


def _fast_for(thresholds_path: Path) -> dict[str, str]:
    if not thresholds_path.is_file():
        return {}
    alerts = (_load(thresholds_path).get("alerts") or {}).items()
    return {name: str(entry["fast_for"]) for name, entry in alerts if entry and "fast_for" in entry}


def _routes(route: dict[str, Any], depth: int = 0) -> Iterator[tuple[int, dict[str, Any]]]:
    yield depth, route
    for child in route.get("routes") or []:
        yield from _routes(child, depth + 1)


def _port(settings: Settings, component: str) -> int:
    try:
        return settings.port(component)
    except KeyError as error:
        raise ObservabilityConfigError(
            f"prometheus.yml: target label service={component!r} is not a stack component "
            f"(known: {', '.join(settings.components)})"
        ) from error


# --- YAML in and out ---------------------------------------------------------------


def _load(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise ObservabilityConfigError(f"cannot read {path}: {error}") from error
    if not isinstance(document, dict):
        raise ObservabilityConfigError(f"{path} is not a YAML mapping")
    return document


class _Dumper(yaml.SafeDumper):
    """Block style, multi-line PromQL as `|` blocks, no anchors (shared webhook lists are spelled out)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def _dump(path: Path, document: dict[str, Any], source: Path, profile: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.dump(document, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=120)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(_HEADER.format(source=source, profile=profile) + text)
    tmp.replace(path)
