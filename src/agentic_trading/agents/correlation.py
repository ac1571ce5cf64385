"""The correlation agent: would this trade stack exposure on a correlated open position?

It keeps its own price history per instrument (the last 31 signal prices, so 30 returns,
in ``at:corr:prices:<instrument>``; it never writes the momentum agent's lists) and reads
the paper ledger ``at:positions``. For a buy or sell it compares the instrument's simple
returns (earlier prices plus this signal's price) with those of every *other* instrument
holding an open position, Pearson correlation over the most recent
``n = min(30, both lengths)`` returns (aligned by recency: each instrument's signal
sequence serves as the clock; at least ``MIN_RETURNS`` = 10 needed). Exposure on the
signal's own instrument is the risk agent's concern.

The trade *stacks* on an open position when ``direction * sign(units) * corr > 0``: a
buy next to a long in a positively correlated instrument, or next to a short in a
negatively correlated one. Then:

* ``|corr| > 0.7`` and stacking: oppose, ``score = -|corr|`` (the strongest such pair)
* otherwise: support mildly, ``score = +0.2`` (no correlated stacking, or a hedge)
* confidence ``0.4 + 0.5 * n / 30`` (n of the deciding pair; the smallest n when supporting)

No open position elsewhere: +0.2 at confidence 0.6. Open positions but too little
history to measure any of them: neutral at 0.2. A hold adds no exposure: neutral.

Worked example: the ledger holds EURUSD +2. EURUSD's last 11 prices alternate 100, 101,
100, …, 100; GBPUSD's 10 earlier prices alternate 200, 202, …, 202 and a buy arrives at
200. Both have 10 returns alternating +1 % and -0.99 %, so ``corr = +1.00`` over n = 10.
Buying GBPUSD beside a long EURUSD stacks (``+1 * +1 * +1.00 > 0``, above 0.7)::

    score = -1.00 (oppose), confidence = 0.4 + 0.5 * 10/30 = 0.5667

A sell of GBPUSD would hedge the long instead: +0.2 (support) at the same confidence.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import redis.asyncio as aioredis

from agentic_trading.agents.base import AgentLogic, Assessment
from agentic_trading.agents.state import DEFAULT_SEEN_TTL_S, Histories, HistoryStore, load_positions
from agentic_trading.redis_keys import corr_prices_key
from agentic_trading.signals import Signal

MAX_RETURNS = 30
MIN_RETURNS = 10
HISTORY_LEN = MAX_RETURNS + 1
STACKING_THRESHOLD = 0.7
MILD_SUPPORT = 0.2


def simple_returns(prices: Sequence[float]) -> list[float]:
    return [b / a - 1.0 for a, b in zip(prices[:-1], prices[1:], strict=True) if a != 0]


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson correlation of two equally long series; None when either is flat."""
    n = len(xs)
    if n != len(ys) or n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx <= 0 or syy <= 0:
        return None
    return max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))


def _confidence(n: int) -> float:
    return 0.4 + 0.5 * min(n, MAX_RETURNS) / MAX_RETURNS


def assess_correlation(
    signal: Signal,
    earlier_prices: Sequence[float],
    positions: Mapping[str, float],
    histories: Mapping[str, Sequence[float]],
) -> Assessment:
    """Judge a signal against open positions on other instruments and their price histories."""
    if signal.direction == 0:
        return Assessment(0.0, 0.5, ["hold: no new exposure"])
    open_positions = {i: u for i, u in sorted(positions.items()) if u != 0 and i != signal.instrument}
    if not open_positions:
        return Assessment(MILD_SUPPORT, 0.6, ["no open position on another instrument: nothing to stack on"])
    series = list(earlier_prices) + ([signal.price] if signal.price is not None else [])
    own = simple_returns(series)
    measured: list[tuple[str, float, float, int]] = []  # instrument, corr, units, n
    unknown: list[str] = []
    for instrument, units in open_positions.items():
        other = simple_returns(histories.get(instrument, []))
        n = min(len(own), len(other), MAX_RETURNS)
        corr = pearson(own[-n:], other[-n:]) if n >= MIN_RETURNS else None
        if corr is None:
            unknown.append(instrument)
        else:
            measured.append((instrument, corr, units, n))
    notes = [f"too little price history to correlate with {', '.join(unknown)}"] if unknown else []
    stacked = [m for m in measured if abs(m[1]) > STACKING_THRESHOLD and signal.direction * math.copysign(1, m[2]) * m[1] > 0]
    if stacked:
        instrument, corr, units, n = max(stacked, key=lambda m: abs(m[1]))
        reason = (
            f"a {signal.action} of {signal.instrument} stacks on {instrument} {units:+g}: "
            f"correlation {corr:+.2f} over {n} returns"
        )
        return Assessment(-abs(corr), _confidence(n), [reason, *notes])
    if measured:
        listed = ", ".join(f"{i} {c:+.2f}" for i, c, _, _ in measured)
        return Assessment(
            MILD_SUPPORT,
            _confidence(min(m[3] for m in measured)),
            [f"no correlated stacking (correlation with {listed})", *notes],
        )
    return Assessment(0.0, 0.2, notes)


@dataclass
class CorrelationState:
    positions: Mapping[str, float]
    histories: Histories


class CorrelationAgent(AgentLogic[CorrelationState]):
    agent_type = "correlation"

    def __init__(self, redis: aioredis.Redis, *, seen_ttl_s: float = DEFAULT_SEEN_TTL_S):
        self.redis = redis
        self.store = HistoryStore(redis, self.agent_type, corr_prices_key, HISTORY_LEN, seen_ttl_s=seen_ttl_s)

    async def load(self, signals: Sequence[Signal]) -> CorrelationState:
        positions = await load_positions(self.redis)
        wanted = {s.instrument for s in signals} | {i for i, u in positions.items() if u != 0}
        return CorrelationState(positions, await self.store.load(wanted))

    def assess(self, signal: Signal, state: CorrelationState) -> Assessment:
        h = state.histories
        others = {i: [float(v) for v in h.values(i)] for i in state.positions if i != signal.instrument}
        earlier = [float(v) for v in h.values(signal.instrument, excluding=signal.signal_id)]
        return assess_correlation(signal, earlier, state.positions, others)

    def advance(self, signal: Signal, state: CorrelationState) -> None:
        if signal.price is not None:
            state.histories.append(signal.instrument, signal.signal_id, repr(signal.price), HISTORY_LEN)

    async def record(self, signals: Sequence[Signal]) -> None:
        await self.store.record([(s.instrument, s.signal_id, repr(s.price)) for s in signals if s.price is not None])
