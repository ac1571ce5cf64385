"""Lint of ``alertmanager.yml``: every route names a known receiver, inhibitions name real alerts."""

from __future__ import annotations

from collections.abc import Iterator

from agentic_trading.observability.lint.findings import Finding
from agentic_trading.observability.tree import ObservabilityTree


def routes_name_known_receivers(tree: ObservabilityTree) -> Iterator[Finding]:
    config = tree.alertmanager
    known = [receiver.name for receiver in config.receivers]
    for depth, route in config.route.walk():
        if route.receiver is None:
            if depth == 0:
                yield Finding(route.location, "route-no-receiver", "the root route needs a `receiver:`")
        elif route.receiver not in known:
            yield Finding(
                route.location,
                "route-unknown-receiver",
                f"route to receiver {route.receiver!r}, which is not defined: use one of {', '.join(known)}",
            )


def inhibitions_name_existing_alerts(tree: ObservabilityTree) -> Iterator[Finding]:
    for rule in tree.alertmanager.inhibit_rules:
        for matcher in rule.source + rule.target:
            if matcher.label != "alertname" or matcher.op not in ("=", "=~"):
                continue
            values = matcher.value.split("|") if matcher.op == "=~" else [matcher.value]
            # A pattern (".+Down") matches by design; only plain names must exist.
            unknown = [value for value in values if value.isidentifier() and value not in tree.alert_names]
            for value in unknown:
                yield Finding(rule.location, "inhibit-unknown-alert", f"inhibit rule names {value}, which no alert defines")


LINTS = (routes_name_known_receivers, inhibitions_name_existing_alerts)
