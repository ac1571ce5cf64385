"""The typed model of the repository's ``observability/`` tree: load once, lint, render.

* :func:`load_tree` reads every file once into frozen dataclasses (alerts, recording
  rules, promtool tests, metric catalog, config.yaml, Alertmanager, dashboards,
  runbooks); a broken file raises :class:`ObservabilityError` with ``file:line``.
* :func:`lint_tree` checks the invariants (``atctl lint``) and returns findings.
* :mod:`.render` turns the model into one stack's files (production or fast profile).

Nothing here talks to a server or imports :mod:`agentic_trading.stack`.
"""

from agentic_trading.observability.errors import ObservabilityError
from agentic_trading.observability.lint import AREAS, Finding, lint_tree
from agentic_trading.observability.source import Location
from agentic_trading.observability.tree import ObservabilityTree, TreePaths, default_root, load_tree

__all__ = [
    "AREAS",
    "Finding",
    "Location",
    "ObservabilityError",
    "ObservabilityTree",
    "TreePaths",
    "default_root",
    "lint_tree",
    "load_tree",
]
