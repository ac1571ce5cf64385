"""The correlation agent's judgement, starting with its docstring's worked example."""

from __future__ import annotations

import pytest

from agentic_trading.agents.correlation import assess_correlation, pearson, simple_returns

from .conftest import make_signal

EURUSD_PRICES = [100.0, 101.0] * 5 + [100.0]  # 11 prices, 10 returns
GBPUSD_EARLIER = [200.0, 202.0] * 5  # 10 prices; the signal's 200 makes the 11th


def gbpusd(action: str):
    return make_signal(instrument="GBPUSD", action=action, price=200.0)


def test_worked_example_buying_beside_a_correlated_long_is_opposed() -> None:
    assessment = assess_correlation(gbpusd("buy"), GBPUSD_EARLIER, {"EURUSD": 2.0}, {"EURUSD": EURUSD_PRICES})
    assert assessment.score == pytest.approx(-1.0)
    assert assessment.confidence == pytest.approx(0.5667, abs=1e-4)
    assert assessment.stance == "oppose"
    assert "stacks on EURUSD +2" in assessment.reasons[0]
    assert "+1.00 over 10 returns" in assessment.reasons[0]


def test_worked_example_selling_beside_a_correlated_long_is_a_hedge() -> None:
    assessment = assess_correlation(gbpusd("sell"), GBPUSD_EARLIER, {"EURUSD": 2.0}, {"EURUSD": EURUSD_PRICES})
    assert assessment.score == pytest.approx(0.2)
    assert assessment.confidence == pytest.approx(0.5667, abs=1e-4)
    assert assessment.stance == "support"


def test_buying_beside_a_short_in_an_inversely_correlated_instrument_stacks() -> None:
    inverse = [101.0, 100.0] * 5 + [101.0]
    assessment = assess_correlation(gbpusd("buy"), GBPUSD_EARLIER, {"USDCHF": -1.0}, {"USDCHF": inverse})
    assert assessment.score == pytest.approx(-1.0)
    assert "USDCHF -1" in assessment.reasons[0]


def test_the_opposing_score_is_the_strength_of_the_correlation() -> None:
    own = [100.0, 101.0, 100.5, 102.0, 101.0, 103.0, 102.5, 104.0, 103.0, 105.0]
    other = [50.0, 50.6, 50.2, 51.0, 50.6, 51.4, 51.3, 52.1, 51.4, 52.6, 52.0]
    corr = pearson(simple_returns(own + [104.0]), simple_returns(other))
    assert corr is not None and 0.7 < corr < 1.0
    assessment = assess_correlation(
        make_signal(instrument="GBPUSD", action="buy", price=104.0), own, {"EURUSD": 1.0}, {"EURUSD": other}
    )
    assert assessment.score == pytest.approx(-corr)


def test_no_open_position_elsewhere_is_mild_support() -> None:
    assessment = assess_correlation(gbpusd("buy"), GBPUSD_EARLIER, {"GBPUSD": 3.0, "USDJPY": 0.0}, {})
    assert (assessment.stance, assessment.score, assessment.confidence) == ("support", 0.2, 0.6)


def test_too_little_history_is_neutral_and_names_the_instrument() -> None:
    assessment = assess_correlation(gbpusd("buy"), GBPUSD_EARLIER, {"EURUSD": 2.0}, {"EURUSD": EURUSD_PRICES[:5]})
    assert (assessment.stance, assessment.confidence) == ("neutral", 0.2)
    assert "EURUSD" in assessment.reasons[0]


def test_hold_is_neutral() -> None:
    assessment = assess_correlation(gbpusd("hold"), GBPUSD_EARLIER, {"EURUSD": 2.0}, {"EURUSD": EURUSD_PRICES})
    assert assessment.stance == "neutral"


def test_pearson_of_a_flat_series_is_undefined() -> None:
    assert pearson([0.0, 0.0, 0.0], [1.0, 2.0, 3.0]) is None
