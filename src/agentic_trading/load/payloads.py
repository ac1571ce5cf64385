"""Realistic webhook payloads: prices that walk, levels on the right side, and the specification's bad ones.

Pure and seeded, so a test can replay exactly what a generator sent.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

INSTRUMENTS: dict[str, float] = {"EURUSD": 1.0850, "GBPUSD": 1.2650, "USDJPY": 148.50, "AUDUSD": 0.6550}
ACTIONS = ("buy", "sell", "hold")
# The specification's malformed payloads (testing-strategy.md, _send_malformed_signal).
MALFORMED_PAYLOADS: tuple[Any, ...] = (
    {},
    {"invalid": "structure"},
    {"instrument": None},
    {"confidence": "not_a_number"},
)


class SignalFactory:
    """Valid signals whose prices follow a random walk per instrument (so agents see real trends)."""

    def __init__(self, seed: int | None = None, instruments: dict[str, float] | None = None):
        self.random = random.Random(seed)
        self.prices = dict(instruments or INSTRUMENTS)

    def _step(self, instrument: str) -> float:
        price = self.prices[instrument]
        # A common factor makes EURUSD, GBPUSD and AUDUSD move together, as they tend to.
        common = self.random.gauss(0, 0.0007)
        own = self.random.gauss(0, 0.0005)
        sign = -1 if instrument == "USDJPY" else 1
        price *= 1 + sign * common + own
        self.prices[instrument] = price
        return price

    def signal(self, *, instrument: str | None = None, action: str | None = None) -> dict[str, Any]:
        instrument = instrument or self.random.choice(list(self.prices))
        action = action or self.random.choices(ACTIONS, weights=(0.45, 0.45, 0.10))[0]
        price = self._step(instrument)
        decimals = 3 if price > 20 else 5
        risk = price * self.random.uniform(0.002, 0.006)
        reward = risk * self.random.uniform(1.0, 3.0)
        payload: dict[str, Any] = {
            "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "instrument": instrument,
            "action": action,
            "confidence": round(self.random.uniform(0.6, 0.95), 2),
            "price": round(price, decimals),
            "strategy": "synthetic",
            "timeframe": "5m",
        }
        if action == "buy":
            payload["stop_loss"] = round(price - risk, decimals)
            payload["take_profit"] = round(price + reward, decimals)
        elif action == "sell":
            payload["stop_loss"] = round(price + risk, decimals)
            payload["take_profit"] = round(price - reward, decimals)
        return payload

    def malformed(self) -> Any:
        return self.random.choice(MALFORMED_PAYLOADS)
