"""What every check shares: where the deployment is, which files describe it, HTTP clients.

Endpoints are URLs only, so the same checks run against the local stack (defaults from
its settings) and against any deployment (``--prometheus-url`` and friends). Everything
fetched once per run (targets, scrape interval, parsed files) is cached here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from agentic_trading.observability import ObservabilityTree, TreePaths, load_tree
from agentic_trading.observability.catalog import Catalog
from agentic_trading.observability.durations import parse_duration
from agentic_trading.settings import Settings
from agentic_trading.verify.grafana import GrafanaAuth, GrafanaClient
from agentic_trading.verify.prometheus import PrometheusClient

DEFAULT_REQUEST_TIMEOUT_S = 5.0
# When Prometheus does not say (it always does since 2.x), assume the production interval.
FALLBACK_SCRAPE_INTERVAL_S = 15.0


@dataclass(frozen=True)
class Endpoints:
    prometheus: str
    alertmanager: str
    gateway: str | None = None
    grafana: str | None = None
    redis: str | None = None  # redis://host:port, probed anonymously only
    nats: str | None = None  # nats://host:port, probed anonymously only

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: str | None) -> Endpoints:
        """The local stack's URLs, each replaced by an explicit override when given."""
        values = {
            "prometheus": settings.url("prometheus"),
            "alertmanager": settings.url("alertmanager"),
            "gateway": settings.url("gateway"),
            "grafana": None,
            "redis": _without_user(settings.redis_url),
            "nats": _without_user(settings.nats_url),
        }
        values.update({key: value.rstrip("/") for key, value in overrides.items() if value})
        return cls(**values)

    def as_dict(self) -> dict[str, str]:
        return {key: value for key, value in asdict(self).items() if value}

    def all_loopback(self) -> bool:
        return all(_is_loopback(url) for url in self.as_dict().values())


def _without_user(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port is not None else "")


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Sources:
    """The files that describe what the deployment should be: an observability tree, parts replaceable."""

    catalog: Path
    dashboards_dir: Path
    rules_dir: Path
    runbooks_dir: Path
    root: Path | None = None  # the observability/ tree the other parts come from

    @classmethod
    def defaults(cls, root: Path | None = None, **overrides: Path | None) -> Sources:
        paths = TreePaths.of(root)
        values = {
            "catalog": paths.catalog,
            "dashboards_dir": paths.dashboards_dir,
            "rules_dir": paths.rules_dir,
            "runbooks_dir": paths.runbooks_dir,
            "root": paths.root,
        }
        values.update({key: Path(value) for key, value in overrides.items() if value is not None})
        return cls(**values)

    def load_tree(self) -> ObservabilityTree:
        """The observability tree with these files in place of the tree's own."""
        return load_tree(
            self.root,
            catalog=self.catalog,
            dashboards_dir=self.dashboards_dir,
            rules_dir=self.rules_dir,
            runbooks_dir=self.runbooks_dir,
        )


class VerifyContext:
    """One run's shared state. Create with :meth:`open`, close when done (or use ``with``)."""

    def __init__(
        self,
        endpoints: Endpoints,
        sources: Sources,
        http: httpx.Client,
        *,
        grafana_auth: GrafanaAuth | None = None,
        webhook_secret: str | None = None,
        settings: Settings | None = None,
    ):
        self.endpoints = endpoints
        # The local stack's settings; None against a deployment given only by its URLs.
        self.settings = settings
        self.sources = sources
        self.http = http
        self.webhook_secret = webhook_secret
        self.prometheus = PrometheusClient(endpoints.prometheus, http)
        self.grafana = GrafanaClient(endpoints.grafana, http, grafana_auth) if endpoints.grafana else None

    @classmethod
    def open(
        cls,
        endpoints: Endpoints,
        sources: Sources,
        *,
        timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S,
        grafana_auth: GrafanaAuth | None = None,
        webhook_secret: str | None = None,
        settings: Settings | None = None,
        http_options: Mapping[str, Any] | None = None,
    ) -> VerifyContext:
        """``http_options``: credentials and CA of a secured Prometheus and Alertmanager (``web_access``)."""
        # A proxy from the environment must never sit between us and loopback; remote
        # deployments may need one.
        http = httpx.Client(timeout=timeout_s, trust_env=not endpoints.all_loopback(), **(http_options or {}))
        return cls(endpoints, sources, http, grafana_auth=grafana_auth, webhook_secret=webhook_secret, settings=settings)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> VerifyContext:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @cached_property
    def tree(self) -> ObservabilityTree:
        """What the deployment should be: the observability tree, read once per run."""
        return self.sources.load_tree()

    @property
    def catalog(self) -> Catalog:
        return self.tree.catalog

    @cached_property
    def targets(self) -> list[dict[str, Any]]:
        """Prometheus's active scrape targets, as /api/v1/targets lists them."""
        return self.prometheus.targets()

    @cached_property
    def prometheus_started_at(self) -> float | None:
        return self.prometheus.started_at()

    @cached_property
    def scrape_interval_s(self) -> float:
        """The longest scrape interval of any target (what "recent" and "after a scrape" mean)."""
        intervals = [parse_duration(t["scrapeInterval"]) for t in self.targets if t.get("scrapeInterval")]
        return max(intervals) if intervals else FALLBACK_SCRAPE_INTERVAL_S
