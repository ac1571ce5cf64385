"""Collection: is everything scraped, does every catalogued metric have series, is every exposition valid?

The specification's ``test_metric_collection.sh``, for every target Prometheus knows
(``/api/v1/targets``, so it works against any deployment) and every metric of the catalog.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import httpx

from agentic_trading.observability.catalog import MetricSpec
from agentic_trading.verify.context import VerifyContext
from agentic_trading.verify.lint import lint_check
from agentic_trading.verify.model import Check, Outcome, counted, summarise
from agentic_trading.verify.prometheus import describe_transport
from agentic_trading.verify.promtool import EXIT_LINT_PROBLEMS, lint_findings, run_promtool

CATEGORY = "collection"


def plan(ctx: VerifyContext) -> list[Check]:
    checks = [
        Check(CATEGORY, "targets up", "every scrape target Prometheus knows answered its last scrape", partial(targets_up, ctx)),
        lint_check(ctx, CATEGORY, "catalog"),
    ]
    for spec in ctx.catalog:
        what = f"{spec.name} has series in Prometheus"
        if spec.conditional:
            what += f" (conditional: only {spec.conditional})"
        checks.append(Check(CATEGORY, f"series {spec.name}", what, partial(metric_has_series, ctx, spec)))
    for target in ctx.targets:
        checks.append(
            Check(
                CATEGORY,
                f"exposition {target_name(target)}",
                f"{target.get('scrapeUrl')} passes `promtool check metrics`",
                partial(exposition_passes, ctx, target),
            )
        )
    return checks


def target_name(target: dict[str, Any]) -> str:
    labels = target.get("labels") or {}
    service = labels.get("service")
    job = labels.get("job", "?")
    name = job if not service or service == job else f"{job}/{service}"
    return f"{name} {labels.get('instance', '')}".strip()


def describe_target(target: dict[str, Any]) -> str:
    """``job nats (service nats-exporter) at http://…/metrics: <last error>``."""
    labels = target.get("labels") or {}
    service = f" (service {labels['service']})" if labels.get("service") else ""
    error = target.get("lastError") or target.get("health", "unknown")
    return f"job {labels.get('job', '?')}{service} at {target.get('scrapeUrl', '?')}: {error}"


def targets_up(ctx: VerifyContext) -> Outcome:
    targets = ctx.targets
    query = "up == 0"
    if not targets:
        return Outcome.failed("Prometheus has no active scrape targets: check scrape_configs in prometheus.yml", query)
    down = [t for t in targets if t.get("health") != "up"]
    if down:
        lines = [describe_target(t) for t in down]
        names = [f"{t['labels'].get('service') or t['labels'].get('job')}" for t in down]
        return Outcome.failed(f"{len(down)} of {len(targets)} targets down: {summarise(names)}", query, lines)
    jobs = sorted({t["labels"].get("job", "?") for t in targets})
    return Outcome.passed(f"all {len(targets)} targets up (jobs: {', '.join(jobs)})", query)


def metric_has_series(ctx: VerifyContext, spec: MetricSpec) -> Outcome:
    samples = ctx.prometheus.query(spec.selector)
    if samples:
        return Outcome.passed(f"{len(samples)} series", spec.selector)
    if spec.conditional:
        return Outcome.skipped(f"no series yet, as expected: {spec.name} appears only {spec.conditional}", spec.selector)
    down = [t for t in ctx.targets if t.get("health") != "up" and _target_is_source(t, spec)]
    if down:
        return Outcome.failed(
            f"{spec.name} has no series: its source is down ({summarise([target_name(t) for t in down])})",
            spec.selector,
            [describe_target(t) for t in down],
        )
    return Outcome.failed(
        f"{spec.name} has no series (source: {', '.join(spec.sources)}): is the source scraped, "
        "and does it still emit this metric?",
        spec.selector,
    )


def _target_is_source(target: dict[str, Any], spec: MetricSpec) -> bool:
    labels = target.get("labels") or {}
    return bool({labels.get("job"), labels.get("service")} & set(spec.sources))


def exposition_passes(ctx: VerifyContext, target: dict[str, Any]) -> Outcome:
    url = str(target.get("scrapeUrl", ""))
    reproduce = f"curl -s '{url}' | promtool check metrics"
    try:
        response = ctx.http.get(url)
    except httpx.HTTPError as exc:
        return Outcome.failed(f"could not fetch {url}: {describe_transport(exc)}", reproduce)
    if not response.is_success:
        return Outcome.failed(f"{url} answered HTTP {response.status_code}", reproduce)
    run = run_promtool(["check", "metrics"], input_text=response.text)
    families = sum(1 for line in response.text.splitlines() if line.startswith("# TYPE "))
    if run.returncode == 0:
        return Outcome.passed(f"{families} metric families, no findings", reproduce)
    if run.returncode != EXIT_LINT_PROBLEMS:
        return Outcome.failed(f"the exposition does not parse: {run.output}", reproduce)
    known = ctx.catalog.known_series()
    findings = lint_findings(run.output)
    ours = [f"{name} {problem}" for name, problem in findings if name in known or name in ctx.catalog]
    theirs = [f"{name} {problem}" for name, problem in findings if not (name in known or name in ctx.catalog)]
    if ours:
        return Outcome.failed(
            f"{counted(len(ours), 'naming problem')} in catalogued metrics: {summarise(ours, 3)}", reproduce, ours + theirs
        )
    return Outcome.passed(
        f"{families} metric families; {len(theirs)} naming findings, all on metrics outside the catalog "
        "(a third-party exporter's own names, not used by the project)",
        reproduce,
        theirs,
    )
