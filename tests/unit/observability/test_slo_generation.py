"""slos.yaml generates the committed SLO rules, and refuses an objective it cannot use."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agentic_trading.observability.slo import SLOError, load_objectives, render

OBSERVABILITY = Path(__file__).resolve().parents[3] / "observability"


def test_the_committed_slo_rules_are_what_slos_yaml_generates() -> None:
    rules, alerts = render(yaml.safe_load((OBSERVABILITY / "slos.yaml").read_text()))
    assert (OBSERVABILITY / "prometheus" / "rules" / "slos.yml").read_text() == rules, (
        "regenerate: python -m agentic_trading.observability.slo"
    )
    assert (OBSERVABILITY / "prometheus" / "alerts" / "slos.yml").read_text() == alerts


def test_every_objective_gets_four_windows_and_both_burn_rates() -> None:
    document = yaml.safe_load((OBSERVABILITY / "slos.yaml").read_text())
    rules, alerts = (yaml.safe_load(text) for text in render(document))
    records = {(r["record"], r["labels"]["slo"]) for r in rules["groups"][0]["rules"]}
    # An error ratio and an event count per window and objective (the count: minimum volume).
    assert len(records) == 2 * 4 * len(document["objectives"])
    burn = {r["alert"]: r for r in alerts["groups"][0]["rules"]}
    assert set(burn) == {"SLOBurnRateFast", "SLOBurnRateSlow"}
    assert burn["SLOBurnRateFast"]["labels"]["severity"] == "critical"
    assert "(14.4 * 0.001)" in burn["SLOBurnRateFast"]["expr"] and "(6.0 * 0.001)" in burn["SLOBurnRateSlow"]["expr"]


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"description": "d", "target": 1.5, "total": "x[{window}]", "good": "y[{window}]"}, "between 0 and 1"),
        ({"description": "d", "target": 0.99, "total": "x[5m]", "good": "y[{window}]"}, "{window}"),
        ({"description": "d", "target": 0.99, "good": "y[{window}]"}, "lacks 'total'"),
    ],
)
def test_a_broken_objective_is_refused_naming_it(entry: dict, problem: str) -> None:
    with pytest.raises(SLOError, match="'broken'") as refused:
        load_objectives({"objectives": {"broken": entry}})
    assert problem in str(refused.value)
