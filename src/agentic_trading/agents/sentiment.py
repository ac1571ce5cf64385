"""The sentiment agent: are recent signals on this instrument bullish or bearish?

For each instrument it keeps the actions of the last ``WINDOW`` = 20 live signals in
Redis (``at:sentiment:<instrument>``; buys are bullish, sells bearish, holds count
toward the window but toward neither side). A signal is judged against the signals
*before* it::

    balance    = (bulls - bears) / 20            (always over 20: a thin history is a weak one)
    score      = +balance for a buy, -balance for a sell, 0 for a hold
    confidence = 0.2 + 0.6 * (signals in the window) / 20

Worked example: the last 20 GBPUSD signals were 12 buys, 5 sells and 3 holds::

    balance    = (12 - 5) / 20 = 0.35
    a buy:  score +0.35 (support), a sell: score -0.35 (oppose)
    confidence = 0.2 + 0.6 * 20/20 = 0.8

With no earlier signal the balance is 0: neutral at confidence 0.2.
"""

from __future__ import annotations

from collections.abc import Sequence

from agentic_trading.agents.base import Assessment
from agentic_trading.agents.history import HistoryAgent
from agentic_trading.agents.state import Histories
from agentic_trading.redis_keys import sentiment_key
from agentic_trading.signals import Signal

WINDOW = 20


def assess_sentiment(signal: Signal, recent_actions: Sequence[str]) -> Assessment:
    """Judge a signal against the actions of the instrument's earlier signals (oldest first)."""
    window = list(recent_actions)[-WINDOW:]
    bulls = window.count("buy")
    bears = window.count("sell")
    balance = (bulls - bears) / WINDOW
    confidence = 0.2 + 0.6 * len(window) / WINDOW
    counted = f"last {len(window)} {signal.instrument} signals: {bulls} buy, {bears} sell (balance {balance:+.2f})"
    if signal.direction == 0:
        return Assessment(0.0, confidence, [counted, "hold: nothing to support or oppose"])
    score = balance * signal.direction
    if score > 0:
        verdict = f"the crowd agrees with this {signal.action}"
    elif score < 0:
        verdict = f"the crowd leans against this {signal.action}"
    else:
        verdict = "no lean either way"
    return Assessment(score, confidence, [counted, verdict])


class SentimentAgent(HistoryAgent):
    agent_type = "sentiment"
    key_for = staticmethod(sentiment_key)
    keep = WINDOW

    @staticmethod
    def value_of(signal: Signal) -> str | None:
        return signal.action

    def assess(self, signal: Signal, state: Histories) -> Assessment:
        return assess_sentiment(signal, state.values(signal.instrument, excluding=signal.signal_id))
