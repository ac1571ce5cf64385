"""``alertmanager/alertmanager.yml`` as typed data: the route tree, receivers and inhibitions.

Matchers are kept as Alertmanager writes them (``severity="critical"``,
``alertname=~"A|B"``) and also split into (label, op, value) so a lint can ask which
alerts a rule names. Routing itself (which route an alert takes) is Alertmanager's job:
the tests run the real one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentic_trading.observability.errors import ObservabilityError
from agentic_trading.observability.source import Location, SourceMap, line_of, read_yaml

_MATCHER = re.compile(r'^\s*([A-Za-z_]\w*)\s*(=~|!~|!=|=)\s*"?(.*?)"?\s*$')


@dataclass(frozen=True)
class Matcher:
    label: str
    op: str
    value: str

    def __str__(self) -> str:
        return f'{self.label}{self.op}"{self.value}"'


def parse_matcher(text: str, where: Location) -> Matcher:
    match = _MATCHER.match(str(text))
    if match is None:
        raise ObservabilityError(f'{where}: matcher {text!r} is not label="value" (ops =, !=, =~, !~)')
    return Matcher(*match.groups())


@dataclass(frozen=True)
class Route:
    receiver: str | None  # None: inherited from the parent
    matchers: tuple[Matcher, ...]
    group_by: tuple[str, ...] | None
    group_wait: str | None
    group_interval: str | None
    repeat_interval: str | None
    routes: tuple[Route, ...]
    location: Location

    def walk(self, depth: int = 0) -> Iterator[tuple[int, Route]]:
        """This route and every descendant, depth first, with its depth (0: the root)."""
        yield depth, self
        for child in self.routes:
            yield from child.walk(depth + 1)


@dataclass(frozen=True)
class Receiver:
    name: str
    webhook_urls: tuple[str, ...]
    location: Location


@dataclass(frozen=True)
class InhibitRule:
    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...]
    location: Location


@dataclass(frozen=True)
class AlertmanagerConfig:
    path: Path
    route: Route
    receivers: tuple[Receiver, ...]
    inhibit_rules: tuple[InhibitRule, ...]
    document: SourceMap

    def receiver(self, name: str) -> Receiver | None:
        return next((receiver for receiver in self.receivers if receiver.name == name), None)


def load_alertmanager(path: Path) -> AlertmanagerConfig:
    document = read_yaml(path, what="Alertmanager config")
    if not isinstance(document.get("route"), dict):
        raise ObservabilityError(f"{Location(path, document.line)}: an Alertmanager config needs a top-level `route:`")
    receivers = tuple(_receiver(path, item) for item in document.get("receivers") or [])
    inhibit = tuple(_inhibit_rule(path, item) for item in document.get("inhibit_rules") or [])
    return AlertmanagerConfig(path, _route(path, document["route"]), receivers, inhibit, document)


def _matchers(path: Path, node: Any, key: str) -> tuple[Matcher, ...]:
    values = node.get(key) or []
    return tuple(parse_matcher(text, Location(path, values.item_line(i))) for i, text in enumerate(values))


def _route(path: Path, node: Any) -> Route:
    where = Location(path, line_of(node))
    if not isinstance(node, dict):
        raise ObservabilityError(f"{where}: a route must be a mapping (receiver, matchers, routes)")
    group_by = node.get("group_by")
    return Route(
        receiver=None if node.get("receiver") is None else str(node["receiver"]),
        matchers=_matchers(path, node, "matchers"),
        group_by=None if group_by is None else tuple(str(label) for label in group_by),
        group_wait=_text(node.get("group_wait")),
        group_interval=_text(node.get("group_interval")),
        repeat_interval=_text(node.get("repeat_interval")),
        routes=tuple(_route(path, child) for child in node.get("routes") or []),
        location=Location(path, node.key_line("receiver") if isinstance(node, SourceMap) else where.line),
    )


def _receiver(path: Path, node: Any) -> Receiver:
    where = Location(path, line_of(node))
    if not isinstance(node, dict) or not node.get("name"):
        raise ObservabilityError(f"{where}: every receiver needs a `name:`")
    urls = tuple(str(hook.get("url", "")) for hook in node.get("webhook_configs") or [])
    return Receiver(str(node["name"]), urls, where)


def _inhibit_rule(path: Path, node: Any) -> InhibitRule:
    return InhibitRule(
        source=_matchers(path, node, "source_matchers"),
        target=_matchers(path, node, "target_matchers"),
        equal=tuple(str(label) for label in node.get("equal") or []),
        location=Location(path, line_of(node)),
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
