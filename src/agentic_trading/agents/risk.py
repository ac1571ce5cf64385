"""The risk agent: is the trade protected, worth its risk, and within the position limit?

Checks, in order, for a buy or a sell (a ``hold`` changes no exposure: neutral):

1. **Exposure** against the paper ledger (``at:positions``, written by the orchestrator;
   one executed signal is one unit): if ``|position + direction|`` exceeds
   ``AT_MAX_POSITION_UNITS`` *and* the trade grows the position, the risk agent vetoes
   (score -1, confidence 1). A trade that shrinks an oversized position is allowed.
2. **Stop loss**: without one, oppose (score -0.6, confidence 0.8, reason "no stop loss").
   A stop on the wrong side of the price (at or above it for a buy, at or below for a
   sell) is vetoed: the order makes no sense.
3. **Reward to risk** ``rr = |take_profit - price| / |price - stop_loss|``:

   * ``rr >= 2``  support, ``score = min(1, rr / 4)`` (2 -> 0.5, 4 and above -> 1.0)
   * ``1 <= rr < 2`` weak support, ``score = 0.1 + 0.3 * (rr - 1)``
   * ``rr < 1``   oppose, ``score = -max(0.1, 1 - rr)``

   confidence 0.9. With a stop but no take profit the ratio is unknown: neutral, 0.6.

Worked example (the specification's signal): EURUSD buy at 1.0850, stop 1.0800, take
profit 1.0950, flat position, limit 5::

    rr = |1.0950 - 1.0850| / |1.0850 - 1.0800| = 0.0100 / 0.0050 = 2.0
    score = 2.0 / 4 = +0.5 at confidence 0.9               -> support

The same buy with the ledger already at +5 units would take it to 6 > 5: veto.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import redis.asyncio as aioredis

from agentic_trading.agents.base import AgentLogic, Assessment
from agentic_trading.agents.state import load_positions
from agentic_trading.signals import Signal

GOOD_RR = 2.0
FAIR_RR = 1.0
RR_CONFIDENCE = 0.9
NO_STOP_SCORE = -0.6
NO_STOP_CONFIDENCE = 0.8
NO_TARGET_CONFIDENCE = 0.6


def assess_risk(signal: Signal, position: float, max_units: float) -> Assessment:
    """Judge a signal given the instrument's current paper position and the limit."""
    if signal.direction == 0:
        return Assessment(0.0, 0.9, ["hold: no change in exposure"])
    after = position + signal.direction
    exposure = f"position after this {signal.action}: {after:+g} of ±{max_units:g} units"
    if abs(after) > max_units and abs(after) > abs(position):
        return Assessment(
            -1.0,
            1.0,
            [f"{signal.instrument} position would be {after:+g} units, above the limit of {max_units:g} (AT_MAX_POSITION_UNITS)"],
            veto=True,
        )
    price, stop, target = signal.price, signal.stop_loss, signal.take_profit
    if stop is None or price is None:
        return Assessment(NO_STOP_SCORE, NO_STOP_CONFIDENCE, ["no stop loss", exposure])
    if (stop - price) * signal.direction >= 0:
        side = "below" if signal.direction > 0 else "above"
        return Assessment(-1.0, 1.0, [f"stop loss {stop:g} is not {side} the {signal.action} price {price:g}"], veto=True)
    if target is None:
        return Assessment(0.0, NO_TARGET_CONFIDENCE, ["no take profit: reward-to-risk unknown", exposure])
    rr = abs(target - price) / abs(price - stop)
    if rr >= GOOD_RR:
        score, verdict = min(1.0, rr / 4), "good"
    elif rr >= FAIR_RR:
        score, verdict = 0.1 + 0.3 * (rr - 1), "weak"
    else:
        score, verdict = -max(0.1, 1 - rr), "poor: the stop risks more than the target gains"
    return Assessment(score, RR_CONFIDENCE, [f"reward-to-risk {rr:.2f} ({verdict})", exposure])


class RiskAgent(AgentLogic[Mapping[str, float]]):
    agent_type = "risk"

    def __init__(self, redis: aioredis.Redis, *, max_position_units: float):
        self.redis = redis
        self.max_position_units = max_position_units

    async def load(self, signals: Sequence[Signal]) -> Mapping[str, float]:
        return await load_positions(self.redis)

    def assess(self, signal: Signal, state: Mapping[str, float]) -> Assessment:
        return assess_risk(signal, state.get(signal.instrument, 0.0), self.max_position_units)
