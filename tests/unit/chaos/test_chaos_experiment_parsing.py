"""Experiment files that atctl refuses, each with the file and the field to fix."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from agentic_trading.chaos.errors import ExperimentFileError, UnknownExperimentError
from agentic_trading.chaos.experiment import NOTIFY_MARGIN_S, parse_experiment, select

PATH = Path("chaos/example.yaml")
PROBE = {"type": "probe", "name": "p", "provider": {"type": "python", "module": "m", "func": "f"}}
GOOD: dict[str, Any] = {
    "title": "t",
    "description": "d",
    "extensions": [{"name": "atctl", "alert": "GatewayDown", "fault": "stop"}],
    "steady-state-hypothesis": {"title": "h", "probes": [{**PROBE, "tolerance": True}]},
    "method": [PROBE],
    "rollbacks": [{**PROBE, "type": "action", "name": "r"}],
}


def _with(**changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(GOOD)
    extension = document["extensions"][0]
    for key, value in changes.items():
        if key in ("title", "method", "rollbacks"):
            document[key] = value
        else:
            extension[key] = value
    return document


def test_a_good_file_parses_with_default_budgets():
    experiment = parse_experiment(GOOD, PATH)
    assert (experiment.name, experiment.alert, experiment.resolve_within_s) == ("example", "GatewayDown", 5.0)
    assert experiment.notify_budget_s(alert_for_s=5.0) == 5.0 + NOTIFY_MARGIN_S


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"rollbacks": []}, "rollbacks"),
        ({"method": []}, "'method'"),
        ({"notify_within_s": 20}, "notify_reason"),
        ({"resolve_within_s": -1, "resolve_reason": "x"}, "resolve_within_s"),
        ({"alert": ""}, "extensions.atctl.alert"),
        ({"surprise": 1}, "unknown key 'surprise'"),
        ({"also_notified": {"TargetDown": ""}}, "also_notified"),
        ({"exception": ""}, "exception"),
        ({"needs": "nats"}, "extensions.atctl.needs"),
        ({"hold_resolved_s": 20}, "hold_reason"),
        ({"touches": [""]}, "extensions.atctl.touches"),
        ({"method": [{"type": "probe", "name": "p", "provider": {"type": "http", "url": "x"}}]}, "python provider"),
    ],
)
def test_a_broken_file_is_refused_naming_file_and_field(changes: dict[str, Any], named: str):
    with pytest.raises(ExperimentFileError) as raised:
        parse_experiment(_with(**changes), PATH)
    assert str(PATH) in str(raised.value) and named in str(raised.value)
    assert raised.value.exit_code == 2


def test_what_the_actions_act_on_is_touched_without_saying_and_needs_are_read():
    method = [
        {
            "type": "action",
            "name": "a",
            "provider": {"type": "python", "module": "m", "func": "pause_program", "arguments": {"name": "orchestrator"}},
        },
        {"type": "action", "name": "b", "provider": {"type": "python", "module": "m", "func": "burn_cpu"}},
        {
            "type": "action",
            "name": "c",
            "provider": {"type": "python", "module": "m", "func": "reconfigure_stream", "arguments": {"stream": "OPINIONS"}},
        },
        {"type": "action", "name": "d", "provider": {"type": "python", "module": "m", "func": "start_signal_flow"}},
    ]
    experiment = parse_experiment(_with(method=method, touches=["gateway"], needs=["redis"]), PATH)
    # A CPU spin in Redis touches Redis (its callers wait behind it); a signal flow watches decisions on NATS.
    assert experiment.touches == {"orchestrator", "redis", "stream:OPINIONS", "gateway"}
    assert experiment.needs == {"redis", "nats"}
    assert experiment.declared == {"GatewayDown"}


def test_an_override_with_its_reason_replaces_the_default_budget():
    experiment = parse_experiment(_with(notify_within_s=25, notify_reason="a window"), PATH)
    assert experiment.notify_budget_s(alert_for_s=0.0) == 25.0


def test_unknown_names_are_refused_with_the_known_ones():
    experiment = parse_experiment(GOOD, PATH)
    with pytest.raises(UnknownExperimentError, match="no experiment named nope; known: example"):
        select([experiment], ["nope"])
