"""``observability/config.yaml`` as typed data: conventions the lint holds the tree to, fast timings.

What the alert files do not say themselves: the runbook base URL and required
sections, the allowed severities, which alerts fire always, the shortest production
``for``, each alert's hold time in the fast profile, and the Alertmanager grouping of the
few alerts whose route must not notify at once there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from agentic_trading.observability.durations import is_duration, parse_duration
from agentic_trading.observability.errors import ObservabilityError
from agentic_trading.observability.source import Location, SourceMap, read_yaml


@dataclass(frozen=True)
class ObservabilityConfig:
    path: Path
    runbook_base_url: str
    runbook_sections: tuple[str, ...]
    severities: tuple[str, ...]
    always_firing: frozenset[str]
    min_for_s: float
    fast_hold: Mapping[str, str]  # alert name -> `for` in the fast profile
    fast_hold_lines: Mapping[str, int]
    # alert name -> {"group_wait": .., "group_interval": ..} of its own route in the fast profile
    fast_grouping: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: MappingProxyType({}))

    def fast_for(self, alert: str) -> str:
        """The alert's `for` in the fast profile (0s unless config.yaml says otherwise)."""
        return self.fast_hold.get(alert, "0s")


def load_config(path: Path) -> ObservabilityConfig:
    document = read_yaml(path, what="observability config")
    runbooks = _mapping(document, "runbooks", path)
    base_url = runbooks.get("base_url")
    if not isinstance(base_url, str) or not base_url.endswith("/"):
        where = Location(path, runbooks.key_line("base_url"))
        raise ObservabilityError(f"{where}: runbooks.base_url must be a URL ending in / (alerts link <base_url><Alert>.md)")
    severities = document.get("severities")
    if not isinstance(severities, list) or not severities:
        raise ObservabilityError(f"{Location(path, document.key_line('severities'))}: severities must be a list of names")
    min_for = str(document.get("min_for", "0s"))
    if not is_duration(min_for):
        raise ObservabilityError(f"{Location(path, document.key_line('min_for'))}: min_for {min_for!r} is not a duration")
    hold = _mapping(_mapping(document, "fast_profile", path), "hold", path)
    for name, value in hold.items():
        if not is_duration(str(value)):
            where = Location(path, hold.key_line(str(name)))
            raise ObservabilityError(f"{where}: fast hold time of {name} is {value!r}: write a duration such as 5s")
    grouping = _fast_grouping(_mapping(_mapping(document, "fast_profile", path), "grouping", path), path)
    return ObservabilityConfig(
        path=path,
        runbook_base_url=base_url,
        runbook_sections=tuple(str(s) for s in runbooks.get("sections") or []),
        severities=tuple(str(s) for s in severities),
        always_firing=frozenset(str(name) for name in document.get("always_firing") or []),
        min_for_s=parse_duration(min_for),
        fast_hold=MappingProxyType({str(k): str(v) for k, v in hold.items()}),
        fast_hold_lines=MappingProxyType({str(k): hold.key_line(str(k)) for k in hold}),
        fast_grouping=grouping,
    )


GROUPING_KEYS = ("group_wait", "group_interval")


def _fast_grouping(grouping: SourceMap, path: Path) -> Mapping[str, Mapping[str, str]]:
    """``fast_profile.grouping``: per alert, durations for ``group_wait`` and ``group_interval`` only."""
    result = {}
    for name, timings in grouping.items():
        where = Location(path, grouping.key_line(str(name)))
        if not isinstance(timings, dict) or not timings or set(timings) - set(GROUPING_KEYS):
            raise ObservabilityError(f"{where}: fast grouping of {name} must map {' and/or '.join(GROUPING_KEYS)} to durations")
        for key, value in timings.items():
            if not is_duration(str(value)):
                raise ObservabilityError(f"{where}: fast {key} of {name} is {value!r}: write a duration such as 5s")
        result[str(name)] = MappingProxyType({str(k): str(v) for k, v in timings.items()})
    return MappingProxyType(result)


def _mapping(document: SourceMap, key: str, path: Path) -> SourceMap:
    value = document.get(key)
    if value is None:
        empty = SourceMap()
        empty.line = document.line
        return empty
    if not isinstance(value, SourceMap):
        raise ObservabilityError(f"{Location(path, document.key_line(key))}: `{key}` must be a mapping")
    return value
