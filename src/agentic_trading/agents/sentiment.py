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

import redis.asyncio as aioredis

from agentic_trading.agents.base import AgentLogic, Assessment
from agentic_trading.agents.state import DEFAULT_SEEN_TTL_S, Histories, HistoryStore, sentiment_key
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


class SentimentAgent(AgentLogic[Histories]):
    agent_type = "sentiment"

    def __init__(self, redis: aioredis.Redis, *, seen_ttl_s: float = DEFAULT_SEEN_TTL_S):
        self.store = HistoryStore(redis, self.agent_type, sentiment_key, WINDOW, seen_ttl_s=seen_ttl_s)

    async def load(self, signals: Sequence[Signal]) -> Histories:
        return await self.store.load(s.instrument for s in signals)

    def assess(self, signal: Signal, state: Histories) -> Assessment:
        return assess_sentiment(signal, state.values(signal.instrument, excluding=signal.signal_id))

    def advance(self, signal: Signal, state: Histories) -> None:
        state.append(signal.instrument, signal.signal_id, signal.action, WINDOW)

    async def record(self, signals: Sequence[Signal]) -> None:
        await self.store.record([(s.instrument, s.signal_id, s.action) for s in signals])
