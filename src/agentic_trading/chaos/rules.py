"""The alerts an experiment set must cover, read from the rule files in one place.

The typed observability model (``agentic_trading.observability``) will list every alert
with its ``for`` and severity; until then this is the one function that asks
``verify.rule_files`` for the names, so switching source is a one-line change.
"""

from __future__ import annotations

from pathlib import Path

from agentic_trading.stack.observability import default_source_dir
from agentic_trading.verify.rule_files import RuleFiles


def alerts_in_rules(rules_dir: Path | None = None) -> list[str]:
    """Every alert name in ``rules_dir`` (default: the repository's observability/prometheus), sorted."""
    root = rules_dir if rules_dir is not None else default_source_dir() / "prometheus"
    return sorted({rule.name for rule in RuleFiles(root).alerts()})
