"""Agents that judge a signal by an instrument's recent values (momentum: prices, sentiment: actions).

Both keep, per instrument, the last ``keep`` values of live signals in a Redis list
(:class:`~agentic_trading.agents.state.HistoryStore`) and differ only in the value they
keep, the list's key and the judgement: :class:`HistoryAgent` holds the rest once.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Sequence
from typing import ClassVar

import redis.asyncio as aioredis

from agentic_trading.agents.base import AgentLogic
from agentic_trading.agents.state import DEFAULT_SEEN_TTL_S, Histories, HistoryStore
from agentic_trading.signals import Signal


class HistoryAgent(AgentLogic[Histories]):
    """Loads, advances and records per-instrument histories; subclasses say what they keep and judge."""

    key_for: ClassVar[Callable[[str], str]]  # the Redis list of an instrument
    keep: ClassVar[int]  # how many values each list holds

    def __init__(self, redis: aioredis.Redis, *, seen_ttl_s: float = DEFAULT_SEEN_TTL_S):
        self.store = HistoryStore(redis, self.agent_type, type(self).key_for, self.keep, seen_ttl_s=seen_ttl_s)

    @staticmethod
    @abstractmethod
    def value_of(signal: Signal) -> str | None:
        """What a live signal adds to its instrument's history; None: nothing."""

    async def load(self, signals: Sequence[Signal]) -> Histories:
        return await self.store.load(s.instrument for s in signals)

    def advance(self, signal: Signal, state: Histories) -> None:
        value = self.value_of(signal)
        if value is not None:
            state.append(signal.instrument, signal.signal_id, value, self.keep)

    async def record(self, signals: Sequence[Signal]) -> None:
        values = ((s, self.value_of(s)) for s in signals)
        await self.store.record([(s.instrument, s.signal_id, value) for s, value in values if value is not None])
