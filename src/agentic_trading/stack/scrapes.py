"""Has Prometheus scraped every target of the stack once, successfully?

A program answering its health check is not yet in Prometheus: until the first scrape its
target is "unknown" and ``up`` has no sample, so ``atctl verify`` right after ``atctl up``
would fail "targets up". ``atctl up`` waits for this too (:func:`pending_targets`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

TIMEOUT_S = 1.0


def pending_targets(targets_body: Mapping[str, Any], ports: Iterable[int]) -> list[str]:
    """Pure: the scrape URLs on ``ports`` whose health is not "up" yet ("job url (health)").

    A target on a port of a program that is not running (``atctl up --only``) is not waited for;
    no target at all on these ports (Prometheus still loading its config) is pending too.
    """
    wanted = set(ports)
    seen: set[int] = set()
    pending = []
    for target in targets_body.get("data", {}).get("activeTargets", []):
        url = str(target.get("scrapeUrl", ""))
        port = urlsplit(url).port
        if port not in wanted:
            continue
        seen.add(port)
        if target.get("health") != "up":
            job = target.get("labels", {}).get("job", "?")
            why = target.get("lastError") or target.get("health", "unknown")
            pending.append(f"{job} {url} ({why})")
    if not seen:
        return ["no scrape targets loaded yet"]
    return pending


def fetch_targets(prometheus_url: str, http_options: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """``/api/v1/targets`` of Prometheus, or None when it does not answer (yet).

    ``http_options``: a secured Prometheus' credentials and CA (``web_access.web_client_options``).
    """
    try:
        with httpx.Client(timeout=TIMEOUT_S, trust_env=False, **(http_options or {})) as client:
            response = client.get(prometheus_url + "/api/v1/targets", params={"state": "active"})
            response.raise_for_status()
            body = response.json()
    except (httpx.HTTPError, ValueError):
        return None
    return body if isinstance(body, dict) else None


def wait_until_scraped(
    prometheus_url: str,
    ports: Iterable[int],
    deadline: float,
    interval: float = 0.25,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    http_options: Mapping[str, Any] | None = None,
) -> list[str]:
    """Poll until every target on ``ports`` is up; what is still pending at ``deadline`` (empty: done)."""
    wanted = list(ports)
    while True:
        body = fetch_targets(prometheus_url, http_options)
        pending = pending_targets(body, wanted) if body is not None else ["Prometheus does not answer /api/v1/targets"]
        if not pending or clock() >= deadline:
            return pending
        sleep(interval)
