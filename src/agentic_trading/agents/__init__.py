"""The four analysis agents, one process each: ``python -m agentic_trading.agents <type>``.

Each agent type consumes every signal through its own durable consumer
``agent-<type>`` on ``SIGNALS`` and publishes one opinion per signal to
``opinions.<type>`` (``base.py``). The judgement of each is a pure function in its
own module, documented there with a worked example: ``momentum.py``, ``risk.py``,
``sentiment.py``, ``correlation.py``; ``state.py`` holds their Redis keys.
"""

from __future__ import annotations

import redis.asyncio as aioredis

from agentic_trading.agents.base import AgentLogic, AgentRunner, Assessment
from agentic_trading.agents.correlation import CorrelationAgent
from agentic_trading.agents.momentum import MomentumAgent
from agentic_trading.agents.risk import RiskAgent
from agentic_trading.agents.sentiment import SentimentAgent
from agentic_trading.settings import AGENT_TYPES, Settings

__all__ = ["AgentLogic", "AgentRunner", "Assessment", "build_agent"]


def build_agent(agent_type: str, redis: aioredis.Redis, settings: Settings) -> AgentLogic:  # type: ignore[type-arg]
    """The logic of one agent type, wired to Redis and the settings it needs."""
    seen_ttl_s = settings.dedup_window_s
    if agent_type == "momentum":
        return MomentumAgent(redis, seen_ttl_s=seen_ttl_s)
    if agent_type == "risk":
        return RiskAgent(redis, max_position_units=settings.max_position_units)
    if agent_type == "sentiment":
        return SentimentAgent(redis, seen_ttl_s=seen_ttl_s)
    if agent_type == "correlation":
        return CorrelationAgent(redis, seen_ttl_s=seen_ttl_s)
    raise ValueError(f"unknown agent type {agent_type!r}: choose one of {', '.join(AGENT_TYPES)}")
