"""One stack's copy of the tree, as texts: pure functions of the model (``stack/`` writes them).

:func:`render_stack` gives every file a stack's Prometheus and Alertmanager read:
``prometheus.yml`` (each scrape target at the stack's host and
``settings.port(<service label>)``, Alertmanager likewise, rule files at the rendered
copies), ``prometheus/{rules,alerts}/*.yml`` and ``alertmanager/alertmanager.yml``
(every webhook at the stack's receiver), in the production or the fast profile
(:mod:`.fast`). :func:`rule_documents` gives the rule files alone, for any profile.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from agentic_trading.observability import fast
from agentic_trading.observability.errors import ObservabilityError
from agentic_trading.observability.source import Location, to_plain
from agentic_trading.observability.tree import ObservabilityTree
from agentic_trading.settings import WEB_COMPONENTS, Settings

PROFILES: tuple[str, ...] = ("fast", "production")

_HEADER = (
    "# Rendered by agentic_trading.observability.render from {source} (profile {profile}).\n"
    "# Do not edit: edit the source and run `atctl up` again.\n"
)


@dataclass(frozen=True)
class WebAuth:
    """Files a secured stack's Prometheus and Alertmanager clients read (``stack/web_tls.py`` writes them)."""

    user: str  # Prometheus' user at itself and at Alertmanager
    password_file: Path
    ca_file: Path
    receiver_user: str  # Alertmanager's user at the receiver
    receiver_password_file: Path

    def client(self) -> dict[str, Any]:
        """Scrape/alerting settings that reach a secured Prometheus or Alertmanager."""
        return {
            "scheme": "https",
            "basic_auth": {"username": self.user, "password_file": str(self.password_file)},
            "tls_config": {"ca_file": str(self.ca_file)},
        }


def check_profile(profile: str) -> None:
    if profile not in PROFILES:
        raise ObservabilityError(f"unknown observability profile {profile!r}; use one of: {', '.join(PROFILES)}")


def rule_documents(tree: ObservabilityTree, profile: str = "production") -> dict[str, dict[str, Any]]:
    """``rules/<c>.yml`` and ``alerts/<c>.yml`` -> the rule file as Prometheus should load it (plain data)."""
    check_profile(profile)
    factor = fast.window_factor(tree.prometheus.evaluation_interval)
    documents: dict[str, dict[str, Any]] = {}
    for rule_file in tree.recording_files + tree.alert_files:
        name = f"{rule_file.kind}/{rule_file.path.name}"
        document = to_plain(rule_file.document)
        if profile == "fast":
            try:
                document = fast.fast_rule_document(document, rule_file.kind, tree.config, factor)
            except ObservabilityError as error:
                raise ObservabilityError(f"{rule_file.path}: {error}") from error
        documents[name] = document
    return documents


def prometheus_document(
    tree: ObservabilityTree, settings: Settings, rules_dir: Path, profile: str, web: WebAuth | None = None
) -> dict[str, Any]:
    """prometheus.yml for one stack; ``rules_dir`` is where the rule files are written.

    With ``web`` (a secured stack), the scrapes of Prometheus and Alertmanager and the
    Alertmanager client use HTTPS with the stack's CA and basic auth.
    """
    check_profile(profile)
    source = tree.prometheus.document
    config = to_plain(source)
    if profile == "fast":
        config = fast.fast_prometheus_document(config)
    config["rule_files"] = [str(rules_dir / "rules" / "*.yml"), str(rules_dir / "alerts" / "*.yml")]
    for job, job_source in zip(config.get("scrape_configs") or [], source.get("scrape_configs") or [], strict=True):
        for static, static_source in zip(job.get("static_configs") or [], job_source.get("static_configs") or [], strict=True):
            service = (static.get("labels") or {}).get("service")
            where = Location(tree.prometheus.path, getattr(static_source, "line", 0))
            if len(static.get("targets") or []) != 1 or not service:
                raise ObservabilityError(
                    f"{where}: job {job.get('job_name')!r}: give each static_config exactly one target "
                    "and a `service` label naming its component, so its port can follow the stack's"
                )
            host = settings.web_bind_host if service in WEB_COMPONENTS else settings.host
            static["targets"] = [f"{host}:{_port(settings, service, where)}"]
            if web is not None and service in WEB_COMPONENTS:
                job.update(web.client())
    for manager in (config.get("alerting") or {}).get("alertmanagers") or []:
        for static in manager.get("static_configs") or []:
            static["targets"] = [f"{settings.web_bind_host}:{settings.port('alertmanager')}"]
        if web is not None:
            manager.update(web.client())
    return config


def alertmanager_document(
    tree: ObservabilityTree, settings: Settings, profile: str, web: WebAuth | None = None
) -> dict[str, Any]:
    """alertmanager.yml for one stack: every webhook at the stack's receiver (with ``web``: with its basic auth)."""
    check_profile(profile)
    source = tree.alertmanager.document
    config = to_plain(source)
    if profile == "fast":
        config = fast.fast_alertmanager_document(config, tree.config.fast_grouping)
    receiver_url = settings.url("receiver") + "/alerts"
    for receiver in config.get("receivers") or []:
        for webhook in receiver.get("webhook_configs") or []:
            webhook["url"] = receiver_url
            if web is not None:
                http_config = webhook.setdefault("http_config", {})
                http_config["basic_auth"] = {"username": web.receiver_user, "password_file": str(web.receiver_password_file)}
    return config


def render_stack(
    tree: ObservabilityTree, settings: Settings, out_dir: Path, profile: str = "fast", web: WebAuth | None = None
) -> dict[Path, str]:
    """Every file of one stack's configuration, relative to ``out_dir``, as text (``web``: a secured stack's)."""
    out_dir = Path(out_dir)
    rules_dir = out_dir / "prometheus"
    texts: dict[Path, str] = {}
    sources = {f"{f.kind}/{f.path.name}": f.path for f in tree.recording_files + tree.alert_files}
    base = tree.config.runbook_base_url
    runbooks = stack_runbook_base(tree, settings)
    for name, document in rule_documents(tree, profile).items():
        texts[Path("prometheus") / name] = dump_yaml(with_runbook_base(document, base, runbooks), sources[name], profile)
    prometheus = prometheus_document(tree, settings, rules_dir, profile, web)
    texts[Path("prometheus.yml")] = dump_yaml(prometheus, tree.prometheus.path, profile)
    alertmanager = alertmanager_document(tree, settings, profile, web)
    texts[Path("alertmanager") / "alertmanager.yml"] = dump_yaml(alertmanager, tree.alertmanager.path, profile)
    return texts


def stack_runbook_base(tree: ObservabilityTree, settings: Settings) -> str:
    """Where a stack's alerts link their runbooks: ``AT_RUNBOOK_BASE_URL``, else the files.

    The alert files say ``docs/runbooks/``, relative to the repository; a link in
    Alertmanager or a notification must open from anywhere, so it becomes
    ``file://<repository>/docs/runbooks/`` unless a base URL is configured.
    """
    if settings.runbook_base_url:
        return settings.runbook_base_url.rstrip("/") + "/"
    base = tree.config.runbook_base_url
    if "://" in base:
        return base
    return (tree.paths.root.parent / base).resolve().as_uri() + "/"


def with_runbook_base(document: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    """The rule document with every ``runbook_url`` under ``old`` moved under ``new`` (in place)."""
    for group in document.get("groups") or []:
        for rule in group.get("rules") or []:
            annotations = rule.get("annotations") or {}
            url = annotations.get("runbook_url")
            if isinstance(url, str) and url.startswith(old):
                annotations["runbook_url"] = new + url[len(old) :]
    return document


def _port(settings: Settings, component: str, where: Location) -> int:
    try:
        return settings.port(component)
    except KeyError as error:
        raise ObservabilityError(
            f"{where}: target label service={component!r} is not a stack component (known: {', '.join(settings.components)})"
        ) from error


class _Dumper(yaml.SafeDumper):
    """Block style, multi-line PromQL as `|` blocks, no anchors (shared webhook lists are spelled out)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def dump_yaml(document: dict[str, Any], source: Path, profile: str) -> str:
    """The document as YAML under a header that names its source and profile."""
    text = yaml.dump(document, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=120)
    return _HEADER.format(source=source, profile=profile) + text
