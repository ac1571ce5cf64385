"""The rules directory (observability/prometheus) as data: alerts, recording rules, unit tests.

Layout: ``alerts/*.yml`` and ``rules/*.yml`` (rule groups), ``tests/*.yml`` (promtool
unit tests). Any directory with that layout works (``atctl verify --rules-dir``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from agentic_trading.verify.errors import VerifyInputError


@dataclass(frozen=True)
class AlertRule:
    name: str
    file: Path
    expr: str
    labels: dict[str, str]
    annotations: dict[str, str]


@dataclass(frozen=True)
class RuleFiles:
    root: Path

    @property
    def alert_files(self) -> list[Path]:
        return sorted((self.root / "alerts").glob("*.yml"))

    @property
    def recording_files(self) -> list[Path]:
        return sorted((self.root / "rules").glob("*.yml"))

    @property
    def test_files(self) -> list[Path]:
        return sorted((self.root / "tests").glob("*.yml"))

    def check_layout(self) -> None:
        if not (self.root / "alerts").is_dir():
            raise VerifyInputError(f"{self.root} has no alerts/ directory: pass --rules-dir the observability/prometheus tree")

    def alerts(self) -> list[AlertRule]:
        found = []
        for path in self.alert_files:
            for rule in _rules(path):
                if "alert" in rule:
                    found.append(
                        AlertRule(
                            name=str(rule["alert"]),
                            file=path,
                            expr=str(rule.get("expr", "")),
                            labels=dict(rule.get("labels") or {}),
                            annotations=dict(rule.get("annotations") or {}),
                        )
                    )
        return found

    def recorded_names(self) -> set[str]:
        return {
            str(rule["record"]) for path in self.recording_files + self.alert_files for rule in _rules(path) if "record" in rule
        }

    def tested_alerts(self) -> dict[str, list[Path]]:
        """Alert name -> the test files with an ``alert_rule_test`` case for it."""
        tested: dict[str, list[Path]] = {}
        for path in self.test_files:
            document = _load(path)
            for group in document.get("tests") or []:
                for case in group.get("alert_rule_test") or []:
                    name = str(case.get("alertname", ""))
                    files = tested.setdefault(name, [])
                    if path not in files:
                        files.append(path)
        return tested


def _load(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise VerifyInputError(f"cannot read {path}: {exc}") from exc
    if not isinstance(document, dict):
        raise VerifyInputError(f"{path} is not a YAML mapping")
    return document


def _rules(path: Path) -> list[dict[str, Any]]:
    return [rule for group in _load(path).get("groups") or [] for rule in group.get("rules") or []]
