"""The sentiment agent's judgement, starting with its docstring's worked example."""

from __future__ import annotations

import pytest

from agentic_trading.agents.sentiment import assess_sentiment

from .conftest import make_signal

# 12 buys, 5 sells, 3 holds.
RECENT = ["buy"] * 12 + ["sell"] * 5 + ["hold"] * 3


def test_worked_example_a_buy_with_a_bullish_crowd_is_supported() -> None:
    assessment = assess_sentiment(make_signal(instrument="GBPUSD", action="buy"), RECENT)
    assert assessment.score == pytest.approx(0.35)
    assert assessment.confidence == pytest.approx(0.8)
    assert assessment.stance == "support"
    assert "12 buy, 5 sell" in assessment.reasons[0]


def test_worked_example_a_sell_against_a_bullish_crowd_is_opposed() -> None:
    assessment = assess_sentiment(make_signal(instrument="GBPUSD", action="sell"), RECENT)
    assert assessment.score == pytest.approx(-0.35)
    assert assessment.stance == "oppose"


def test_only_the_last_twenty_signals_count() -> None:
    assessment = assess_sentiment(make_signal(action="buy"), ["sell"] * 30 + ["buy"] * 20)
    assert assessment.score == pytest.approx(1.0)


def test_a_thin_history_is_a_weak_one() -> None:
    assessment = assess_sentiment(make_signal(action="buy"), ["buy", "buy"])
    assert assessment.score == pytest.approx(0.1)
    assert assessment.confidence == pytest.approx(0.26)


def test_no_history_is_neutral_at_low_confidence() -> None:
    assessment = assess_sentiment(make_signal(action="buy"), [])
    assert (assessment.stance, assessment.confidence) == ("neutral", pytest.approx(0.2))


def test_hold_is_neutral() -> None:
    assert assess_sentiment(make_signal(action="hold"), RECENT).stance == "neutral"
