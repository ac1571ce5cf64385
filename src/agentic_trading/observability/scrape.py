"""``prometheus.yml`` as typed data: global intervals and the scrape jobs with their targets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agentic_trading.observability.durations import parse_duration
from agentic_trading.observability.errors import ObservabilityError
from agentic_trading.observability.source import Location, SourceMap, line_of, read_yaml

# Prometheus's own defaults when prometheus.yml does not set them.
DEFAULT_SCRAPE_INTERVAL = "1m"
DEFAULT_EVALUATION_INTERVAL = "1m"


@dataclass(frozen=True)
class ScrapeTarget:
    address: str
    service: str | None  # the `service` label: the Settings component whose port it is
    location: Location


@dataclass(frozen=True)
class ScrapeJob:
    name: str
    targets: tuple[ScrapeTarget, ...]
    location: Location


@dataclass(frozen=True)
class PrometheusConfig:
    path: Path
    scrape_interval: str
    evaluation_interval: str
    jobs: tuple[ScrapeJob, ...]
    document: SourceMap

    @property
    def evaluation_interval_s(self) -> float:
        return parse_duration(self.evaluation_interval)

    def job(self, name: str) -> ScrapeJob | None:
        return next((job for job in self.jobs if job.name == name), None)


def load_prometheus_config(path: Path) -> PrometheusConfig:
    document = read_yaml(path, what="Prometheus config")
    settings = document.get("global") or {}
    jobs = []
    for job in document.get("scrape_configs") or []:
        where = Location(path, line_of(job))
        if not isinstance(job, dict) or not job.get("job_name"):
            raise ObservabilityError(f"{where}: every scrape config needs a `job_name:`")
        targets = []
        for static in job.get("static_configs") or []:
            service = (static.get("labels") or {}).get("service")
            for address in static.get("targets") or []:
                targets.append(
                    ScrapeTarget(str(address), None if service is None else str(service), Location(path, line_of(static)))
                )
        jobs.append(ScrapeJob(str(job["job_name"]), tuple(targets), where))
    return PrometheusConfig(
        path=path,
        scrape_interval=str(settings.get("scrape_interval", DEFAULT_SCRAPE_INTERVAL)),
        evaluation_interval=str(settings.get("evaluation_interval", DEFAULT_EVALUATION_INTERVAL)),
        jobs=tuple(jobs),
        document=document,
    )
