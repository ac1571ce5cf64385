"""The risk agent's judgement, starting with its docstring's worked example."""

from __future__ import annotations

import pytest

from agentic_trading.agents.risk import assess_risk

from .conftest import make_signal

LIMIT = 5.0


def spec_buy(**overrides: object):  # the specification's EURUSD buy
    fields = {"action": "buy", "price": 1.0850, "stop_loss": 1.0800, "take_profit": 1.0950}
    fields.update(overrides)
    return make_signal(**fields)


def test_worked_example_reward_twice_the_risk_is_supported() -> None:
    assessment = assess_risk(spec_buy(), position=0.0, max_units=LIMIT)
    assert assessment.score == pytest.approx(0.5)
    assert assessment.confidence == 0.9
    assert assessment.stance == "support"
    assert not assessment.veto
    assert "reward-to-risk 2.00" in assessment.reasons[0]


def test_worked_example_a_buy_past_the_position_limit_is_vetoed() -> None:
    assessment = assess_risk(spec_buy(), position=5.0, max_units=LIMIT)
    assert assessment.veto
    assert (assessment.stance, assessment.score, assessment.confidence) == ("oppose", -1.0, 1.0)
    assert "would be +6 units, above the limit of 5" in assessment.reasons[0]


def test_a_sell_that_shrinks_an_oversized_position_is_not_vetoed() -> None:
    sell = make_signal(action="sell", price=1.0850, stop_loss=1.0900, take_profit=1.0750)
    assessment = assess_risk(sell, position=7.0, max_units=LIMIT)
    assert not assessment.veto
    assert assessment.stance == "support"


def test_a_short_past_the_limit_is_vetoed_too() -> None:
    sell = make_signal(action="sell", price=1.0850, stop_loss=1.0900, take_profit=1.0750)
    assert assess_risk(sell, position=-5.0, max_units=LIMIT).veto


@pytest.mark.parametrize(
    ("take_profit", "score", "stance"),
    [
        (1.1050, 1.0, "support"),  # rr 4
        (1.0925, 0.25, "support"),  # rr 1.5: weak support
        (1.0875, -0.5, "oppose"),  # rr 0.5
    ],
)
def test_reward_to_risk_bands(take_profit: float, score: float, stance: str) -> None:
    assessment = assess_risk(spec_buy(take_profit=take_profit), position=0.0, max_units=LIMIT)
    assert assessment.score == pytest.approx(score)
    assert assessment.stance == stance


def test_a_buy_without_stop_loss_is_opposed_with_that_reason() -> None:
    assessment = assess_risk(spec_buy(stop_loss=None, take_profit=None), position=0.0, max_units=LIMIT)
    assert assessment.stance == "oppose"
    assert assessment.reasons[0] == "no stop loss"
    assert not assessment.veto


def test_a_stop_on_the_wrong_side_of_the_price_is_vetoed() -> None:
    assessment = assess_risk(spec_buy(stop_loss=1.0900), position=0.0, max_units=LIMIT)
    assert assessment.veto
    assert "not below" in assessment.reasons[0]


def test_without_take_profit_the_ratio_is_unknown_and_the_agent_is_neutral() -> None:
    assessment = assess_risk(spec_buy(take_profit=None), position=0.0, max_units=LIMIT)
    assert assessment.stance == "neutral"
    assert "reward-to-risk unknown" in assessment.reasons[0]


def test_hold_is_neutral_even_at_the_limit() -> None:
    assessment = assess_risk(make_signal(action="hold"), position=9.0, max_units=LIMIT)
    assert (assessment.stance, assessment.veto) == ("neutral", False)
