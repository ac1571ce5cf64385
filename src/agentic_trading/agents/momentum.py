"""The momentum agent: does the price trend agree with the signal?

For each instrument it keeps the last ``HISTORY_LEN`` = 50 signal prices in Redis
(``at:prices:<instrument>``). For a signal with a price it compares that price with the
simple moving average of the last ``SMA_WINDOW`` = 10 prices *before* it::

    momentum   = (price - SMA10) / SMA10
    score      = clip(direction * momentum / FULL_STRENGTH, -1, 1)      FULL_STRENGTH = 2 %
    confidence = 0.2 + 0.4 * min(|momentum| / FULL_STRENGTH, 1) + 0.4 * min(len(history) / 50, 1)

``direction`` is +1 for a buy and -1 for a sell, so a buy into a rising price (or a sell
into a falling one) is supported and a signal against the trend opposed. A ``hold`` is
neutral. Without a price, or with fewer than 10 earlier prices, the agent has nothing to
measure: neutral, confidence 0.1, and the reason says which.

Worked example: EURUSD has 20 earlier prices, the last 10 of which average 100.0; a buy
arrives at 101.0::

    momentum   = (101 - 100) / 100 = +1.00 %
    score      = +0.01 / 0.02 = +0.5                       -> support
    confidence = 0.2 + 0.4 * 0.5 + 0.4 * 20/50 = 0.56

The same signal as a sell scores -0.5 (oppose) at the same confidence.
"""

from __future__ import annotations

from collections.abc import Sequence

from agentic_trading.agents.base import Assessment, clip
from agentic_trading.agents.history import HistoryAgent
from agentic_trading.agents.state import Histories
from agentic_trading.redis_keys import prices_key
from agentic_trading.signals import Signal

HISTORY_LEN = 50
SMA_WINDOW = 10
FULL_STRENGTH = 0.02
NO_DATA_CONFIDENCE = 0.1


def assess_momentum(signal: Signal, history: Sequence[float]) -> Assessment:
    """Judge a signal against the instrument's earlier prices (oldest first)."""
    if signal.price is None:
        return Assessment(0.0, NO_DATA_CONFIDENCE, ["signal has no price: momentum not measured"])
    if len(history) < SMA_WINDOW:
        return Assessment(
            0.0,
            NO_DATA_CONFIDENCE,
            [f"only {len(history)} earlier prices for {signal.instrument}: {SMA_WINDOW} needed for the moving average"],
        )
    recent = history[-SMA_WINDOW:]
    sma = sum(recent) / len(recent)
    momentum = (signal.price - sma) / sma
    strength = min(abs(momentum) / FULL_STRENGTH, 1.0)
    depth = min(len(history) / HISTORY_LEN, 1.0)
    confidence = 0.2 + 0.4 * strength + 0.4 * depth
    trend = "rising" if momentum > 0 else "falling" if momentum < 0 else "flat"
    measured = f"price {signal.price:g} is {momentum:+.2%} against the {SMA_WINDOW}-price average {sma:g} ({trend})"
    if signal.direction == 0:
        return Assessment(0.0, confidence, [measured, "hold: nothing to support or oppose"])
    score = clip(signal.direction * momentum / FULL_STRENGTH, -1.0, 1.0)
    if score > 0:
        verdict = f"a {signal.action} agrees with the {trend} trend"
    elif score < 0:
        verdict = f"a {signal.action} goes against the {trend} trend"
    else:
        verdict = "no trend to agree with"
    return Assessment(score, confidence, [measured, verdict])


class MomentumAgent(HistoryAgent):
    agent_type = "momentum"
    key_for = staticmethod(prices_key)
    keep = HISTORY_LEN

    @staticmethod
    def value_of(signal: Signal) -> str | None:
        return repr(signal.price) if signal.price is not None else None

    def assess(self, signal: Signal, state: Histories) -> Assessment:
        history = [float(v) for v in state.values(signal.instrument, excluding=signal.signal_id)]
        return assess_momentum(signal, history)
