"""The momentum agent's judgement, starting with its docstring's worked example."""

from __future__ import annotations

import pytest

from agentic_trading.agents.base import opinion_from
from agentic_trading.agents.momentum import assess_momentum

from .conftest import make_signal

# 20 earlier prices; the last 10 average exactly 100.0.
HISTORY = [95.0] * 10 + [99.0, 101.0] * 5


def test_worked_example_buy_into_a_rising_price_is_supported() -> None:
    assessment = assess_momentum(make_signal(action="buy", price=101.0), HISTORY)
    assert assessment.score == pytest.approx(0.5)
    assert assessment.confidence == pytest.approx(0.56)
    assert assessment.stance == "support"
    assert "+1.00%" in assessment.reasons[0]


def test_worked_example_sell_into_a_rising_price_is_opposed() -> None:
    assessment = assess_momentum(make_signal(action="sell", price=101.0), HISTORY)
    assert assessment.score == pytest.approx(-0.5)
    assert assessment.confidence == pytest.approx(0.56)
    assert assessment.stance == "oppose"
    assert "against" in assessment.reasons[1]


def test_a_sell_into_a_sharp_fall_saturates_the_score_and_a_full_history_raises_confidence() -> None:
    assessment = assess_momentum(make_signal(action="sell", price=90.0), [100.0] * 50)
    assert assessment.score == 1.0
    assert "a sell agrees with the falling trend" in assessment.reasons
    assert assessment.confidence == pytest.approx(1.0)


def test_a_signal_without_price_is_neutral_with_low_confidence_and_says_why() -> None:
    assessment = assess_momentum(make_signal(price=None), HISTORY)
    assert (assessment.stance, assessment.confidence) == ("neutral", 0.1)
    assert "no price" in assessment.reasons[0]


def test_too_little_history_is_neutral_and_says_how_much_there_is() -> None:
    assessment = assess_momentum(make_signal(price=101.0), [100.0] * 9)
    assert (assessment.stance, assessment.confidence) == ("neutral", 0.1)
    assert "only 9 earlier prices" in assessment.reasons[0]


def test_hold_is_neutral_but_reports_the_momentum() -> None:
    assessment = assess_momentum(make_signal(action="hold", price=101.0), HISTORY)
    assert assessment.stance == "neutral"
    assert "+1.00%" in assessment.reasons[0]


def test_the_published_opinion_carries_the_signal_ids_and_rounded_figures() -> None:
    signal = make_signal(action="buy", price=101.0)
    opinion = opinion_from(signal, "momentum", assess_momentum(signal, HISTORY), processed_at=5.0)
    assert (opinion.signal_id, opinion.correlation_id, opinion.agent_type) == ("sig_1", "corr-1", "momentum")
    assert (opinion.stance, opinion.score, opinion.confidence, opinion.veto) == ("support", 0.5, 0.56, False)
