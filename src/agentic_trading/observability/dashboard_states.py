"""Variable states of a dashboard, and which panels may be empty in each: pure, no I/O.

The same semantics the page implements in ``static/grafana.js`` (``emptyAllowed``), in Python,
so the browser tests and ``atctl verify --category dashboards`` enumerate the
same states and agree with the page on which panels may show no data.

A panel declares it itself, in the dashboard JSON (Grafana ignores keys it does not know)::

    "mayBeEmpty": {"reason": "only the risk agent vetoes",
                   "when": {"agent_type": ["momentum", "sentiment", "correlation"]}}

Without ``when`` the panel may always be empty; with it, only while every selected value of
each named variable is one of those listed ("All" selects every value).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

ALL = "All"
# A multi-value variable with more options than this is checked per value, not per subset.
MAX_SUBSET_OPTIONS = 5

VariableState = dict[str, list[str]]


def variables_of(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The template variables of a dashboard document, as Grafana stores them."""
    return list((document.get("templating") or {}).get("list") or [])


def panels_of(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every panel that draws something, those inside rows included."""
    found = []
    for panel in document.get("panels") or []:
        if panel.get("type") != "row":
            found.append(panel)
        found.extend(child for child in panel.get("panels") or [] if child.get("type") != "row")
    return found


def choices_for(variable: Mapping[str, Any], options: Sequence[str]) -> list[list[str]]:
    """Every selection of one variable worth checking: "All", and each value or subset of values."""
    choices: list[list[str]] = [[ALL]] if variable.get("includeAll") else []
    if variable.get("multi") and 1 < len(options) <= MAX_SUBSET_OPTIONS:
        for size in range(1, len(options) + 1):
            choices.extend(list(subset) for subset in itertools.combinations(options, size))
    else:
        choices.extend([value] for value in options)
    return choices


def variable_states(document: Mapping[str, Any], options: Mapping[str, Sequence[str]]) -> list[VariableState]:
    """Every combination of every variable's choices (the default state first when there are none).

    ``options`` holds each variable's resolved values (``label_values`` answered by Prometheus).
    """
    variables = variables_of(document)
    if not variables:
        return [{}]
    per_variable = [choices_for(v, options.get(v["name"], [])) for v in variables]
    names = [v["name"] for v in variables]
    return [dict(zip(names, combination, strict=True)) for combination in itertools.product(*per_variable)]


def describe_state(state: Mapping[str, Sequence[str]]) -> str:
    """``agent_type=momentum+risk`` (or ``default`` for a dashboard without variables)."""
    if not state:
        return "default"
    return ", ".join(f"{name}={'+'.join(values)}" for name, values in state.items())


def selected_values(values: Sequence[str], options: Sequence[str]) -> list[str]:
    return list(options) if ALL in values or "$__all" in values else list(values)


def may_be_empty(panel: Mapping[str, Any], state: Mapping[str, Sequence[str]], options: Mapping[str, Sequence[str]]) -> bool:
    """Whether ``panel`` declares that it may show no data in ``state``."""
    rule = panel.get("mayBeEmpty")
    if not rule:
        return False
    for name, listed in (rule.get("when") or {}).items():
        if name not in state:
            return False
        allowed = {str(value) for value in listed}
        if not all(value in allowed for value in selected_values(state[name], options.get(name, []))):
            return False
    return True
