"""Prometheus rule files (``prometheus/alerts/*.yml``, ``prometheus/rules/*.yml``) as typed data.

An :class:`AlertRule` carries everything a reader of the alert file sees (group, name,
expression, ``for``, labels, annotations) and what follows from it: the metrics it
selects, its range windows and its threshold (the comparison at the top of the
expression). The alert files are the single source of these values; nothing else
repeats them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

from agentic_trading.observability import promql
from agentic_trading.observability.durations import is_duration, parse_duration
from agentic_trading.observability.errors import ObservabilityError
from agentic_trading.observability.source import Location, SourceMap, line_of, read_yaml


@dataclass(frozen=True)
class AlertRule:
    name: str
    group: str
    expr: str
    for_: str | None
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    location: Location
    # Lines of the keys inside the rule (expr, for, labels, annotations, runbook_url, …).
    key_lines: Mapping[str, int]

    @property
    def file(self) -> Path:
        return self.location.file

    @property
    def severity(self) -> str | None:
        return self.labels.get("severity")

    @property
    def runbook_url(self) -> str | None:
        return self.annotations.get("runbook_url")

    @property
    def for_s(self) -> float:
        """The hold time in seconds (0 without ``for``)."""
        return parse_duration(self.for_) if self.for_ else 0.0

    @cached_property
    def selectors(self) -> tuple[promql.Selector, ...]:
        return promql.selectors(self.expr)

    @cached_property
    def windows_s(self) -> tuple[float, ...]:
        return promql.range_windows(self.expr)

    @cached_property
    def threshold(self) -> promql.Threshold | None:
        return promql.threshold(self.expr)

    def at(self, key: str) -> Location:
        """Where ``key`` (``expr``, ``for``, ``severity``, ``runbook_url``…) is written, else the rule."""
        return Location(self.file, self.key_lines.get(key, self.location.line))


@dataclass(frozen=True)
class RecordingRule:
    name: str
    group: str
    expr: str
    location: Location

    @cached_property
    def selectors(self) -> tuple[promql.Selector, ...]:
        return promql.selectors(self.expr)


@dataclass(frozen=True)
class RuleGroup:
    name: str
    interval: str | None
    alerts: tuple[AlertRule, ...]
    recording_rules: tuple[RecordingRule, ...]
    location: Location


@dataclass(frozen=True)
class RuleFile:
    """One rule file; ``document`` is the file as read (the renderers copy it)."""

    path: Path
    kind: str  # "alerts" or "rules"
    groups: tuple[RuleGroup, ...]
    document: SourceMap

    @property
    def alerts(self) -> tuple[AlertRule, ...]:
        return tuple(alert for group in self.groups for alert in group.alerts)

    @property
    def recording_rules(self) -> tuple[RecordingRule, ...]:
        return tuple(rule for group in self.groups for rule in group.recording_rules)


def load_rule_file(path: Path, kind: str) -> RuleFile:
    document = read_yaml(path, what="rule file")
    groups = document.get("groups")
    if not isinstance(groups, list):
        raise ObservabilityError(f"{Location(path, document.line)}: a rule file needs a top-level `groups:` list")
    parsed = tuple(_group(path, group) for group in groups)
    return RuleFile(path=path, kind=kind, groups=parsed, document=document)


def _group(path: Path, group: Any) -> RuleGroup:
    where = Location(path, line_of(group))
    if not isinstance(group, dict) or not group.get("name"):
        raise ObservabilityError(f"{where}: every rule group needs a `name:` and `rules:`")
    name = str(group["name"])
    interval = group.get("interval")
    if interval is not None and not is_duration(str(interval)):
        raise ObservabilityError(f"{where}: group {name} interval {interval!r} is not a duration (e.g. 30s)")
    alerts, records = [], []
    for rule in group.get("rules") or []:
        if isinstance(rule, dict) and "alert" in rule:
            alerts.append(_alert(path, name, rule))
        elif isinstance(rule, dict) and "record" in rule:
            records.append(RecordingRule(str(rule["record"]), name, _expr(path, rule), Location(path, line_of(rule))))
        else:
            raise ObservabilityError(f"{Location(path, line_of(rule, where.line))}: a rule needs `alert:` or `record:`")
    return RuleGroup(name, None if interval is None else str(interval), tuple(alerts), tuple(records), where)


def _expr(path: Path, rule: SourceMap) -> str:
    expr = str(rule.get("expr") or "")
    try:
        promql.parse(expr)
    except promql.PromQLSyntaxError as exc:
        raise ObservabilityError(
            f"{Location(path, rule.key_line('expr'))}: the expr of {rule.get('alert') or rule.get('record')} "
            f"is not valid PromQL ({exc.reason}): fix the expression"
        ) from exc
    return expr


def _alert(path: Path, group: str, rule: SourceMap) -> AlertRule:
    hold = rule.get("for")
    if hold is not None and not is_duration(str(hold)):
        raise ObservabilityError(
            f"{Location(path, rule.key_line('for'))}: `for` of {rule['alert']} is {hold!r}, "
            "not a Prometheus duration: write e.g. 1m or 5m"
        )
    key_lines = dict(getattr(rule, "key_lines", {}))
    for section in ("labels", "annotations"):
        value = rule.get(section)
        if isinstance(value, SourceMap):
            key_lines.update({key: value.key_line(key) for key in value})
    return AlertRule(
        name=str(rule["alert"]),
        group=group,
        expr=_expr(path, rule),
        for_=None if hold is None else str(hold),
        labels=MappingProxyType({str(k): str(v) for k, v in (rule.get("labels") or {}).items()}),
        annotations=MappingProxyType({str(k): str(v) for k, v in (rule.get("annotations") or {}).items()}),
        location=Location(path, rule.line),
        key_lines=MappingProxyType(key_lines),
    )
