"""The whole ``observability/`` tree, read once into typed, immutable data.

:func:`load_tree` reads prometheus.yml, the alert and recording rules, the promtool
tests, the metric catalog, config.yaml, alertmanager.yml, the dashboards and the
runbooks, and refuses a broken file with :class:`ObservabilityError` naming
``file:line`` and the fix. Each part can come from elsewhere (``atctl verify
--rules-dir`` and friends): :class:`TreePaths` says where each was read from.

    tree = load_tree()
    for alert in tree.alerts:
        print(alert.name, alert.severity, alert.for_, alert.threshold, alert.runbook_url)
    for dashboard in tree.dashboards:
        print(dashboard.uid, [p.title for p in dashboard.panels()], dashboard.variables())
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cached_property
from pathlib import Path

from agentic_trading.observability.alertmanager import AlertmanagerConfig, load_alertmanager
from agentic_trading.observability.catalog import Catalog, load_catalog
from agentic_trading.observability.config import ObservabilityConfig, load_config
from agentic_trading.observability.dashboards import Dashboard, dashboard_paths, load_dashboard
from agentic_trading.observability.errors import ObservabilityError
from agentic_trading.observability.rules import AlertRule, RecordingRule, RuleFile, load_rule_file
from agentic_trading.observability.runbooks import Runbooks, load_runbooks
from agentic_trading.observability.scrape import PrometheusConfig, load_prometheus_config
from agentic_trading.observability.unit_tests import UnitTestFile, load_unit_test_file


def default_root() -> Path:
    """The repository's ``observability/`` (this file is src/agentic_trading/observability/tree.py)."""
    return Path(__file__).resolve().parents[3] / "observability"


@dataclass(frozen=True)
class TreePaths:
    """Where each part of the tree is read from."""

    root: Path
    prometheus_config: Path
    rules_dir: Path  # holds alerts/, rules/, tests/
    catalog: Path
    config: Path
    alertmanager_config: Path
    dashboards_dir: Path
    runbooks_dir: Path

    @classmethod
    def of(cls, root: Path | None = None, **overrides: Path | None) -> TreePaths:
        """The layout of ``root`` (default: the repository's), with any part replaced."""
        base = Path(root) if root is not None else default_root()
        values = {
            "root": base,
            "prometheus_config": base / "prometheus.yml",
            "rules_dir": base / "prometheus",
            "catalog": base / "metrics.yaml",
            "config": base / "config.yaml",
            "alertmanager_config": base / "alertmanager" / "alertmanager.yml",
            "dashboards_dir": base / "grafana_dashboards",
            "runbooks_dir": base.parent / "docs" / "runbooks",
        }
        known = {field.name for field in fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise TypeError(f"unknown tree parts {sorted(unknown)}; known: {sorted(known)}")
        values.update({key: Path(value) for key, value in overrides.items() if value is not None})
        return cls(**values)


@dataclass(frozen=True)
class ObservabilityTree:
    paths: TreePaths
    prometheus: PrometheusConfig
    alert_files: tuple[RuleFile, ...]
    recording_files: tuple[RuleFile, ...]
    unit_tests: tuple[UnitTestFile, ...]
    catalog: Catalog
    config: ObservabilityConfig
    alertmanager: AlertmanagerConfig
    dashboards: tuple[Dashboard, ...]
    runbooks: Runbooks

    @property
    def alerts(self) -> tuple[AlertRule, ...]:
        """Every alert of every alert file, in file order."""
        return tuple(alert for rule_file in self.alert_files for alert in rule_file.alerts)

    @cached_property
    def alert_names(self) -> frozenset[str]:
        """The name of every alert: what tests, inhibitions, runbooks and hold times may name."""
        return frozenset(alert.name for alert in self.alerts)

    @property
    def recording_rules(self) -> tuple[RecordingRule, ...]:
        """Every recording rule, from rules/ and (when any) from alerts/."""
        files = self.recording_files + self.alert_files
        return tuple(rule for rule_file in files for rule in rule_file.recording_rules)

    def alert(self, name: str) -> AlertRule:
        for alert in self.alerts:
            if alert.name == name:
                return alert
        raise KeyError(name)

    def dashboard(self, uid: str) -> Dashboard:
        for dashboard in self.dashboards:
            if dashboard.uid == uid:
                return dashboard
        raise KeyError(uid)


def rule_file_paths(rules_dir: Path, kind: str) -> list[Path]:
    return sorted((Path(rules_dir) / kind).glob("*.yml"))


def load_tree(root: Path | None = None, **overrides: Path | None) -> ObservabilityTree:
    """Read every part of the tree; see :meth:`TreePaths.of` for ``root`` and the overrides."""
    paths = TreePaths.of(root, **overrides)
    if not (paths.rules_dir / "alerts").is_dir():
        raise ObservabilityError(
            f"{paths.rules_dir} has no alerts/ directory: pass --rules-dir the observability/prometheus tree"
        )
    return ObservabilityTree(
        paths=paths,
        prometheus=load_prometheus_config(paths.prometheus_config),
        alert_files=tuple(load_rule_file(path, "alerts") for path in rule_file_paths(paths.rules_dir, "alerts")),
        recording_files=tuple(load_rule_file(path, "rules") for path in rule_file_paths(paths.rules_dir, "rules")),
        unit_tests=tuple(load_unit_test_file(path) for path in rule_file_paths(paths.rules_dir, "tests")),
        catalog=load_catalog(paths.catalog),
        config=load_config(paths.config),
        alertmanager=load_alertmanager(paths.alertmanager_config),
        dashboards=tuple(load_dashboard(path) for path in dashboard_paths(paths.dashboards_dir)),
        runbooks=load_runbooks(paths.runbooks_dir),
    )
