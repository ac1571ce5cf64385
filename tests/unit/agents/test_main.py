"""The agent process's command line and wiring (no bus or Redis needed)."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from agentic_trading.agents import build_agent
from agentic_trading.agents.__main__ import main
from agentic_trading.agents.risk import RiskAgent
from agentic_trading.settings import AGENT_TYPES, load_settings


def test_an_unknown_agent_type_prints_the_usage_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["momentun"]) == 2
    assert "usage: python -m agentic_trading.agents <momentum|risk|sentiment|correlation>" in capsys.readouterr().err


async def test_every_agent_type_builds_the_agent_of_that_type() -> None:
    settings = load_settings(max_position_units=3)
    redis = aioredis.Redis.from_url("redis://127.0.0.1:1/0")  # never connected: building does no I/O
    agents = {t: build_agent(t, redis, settings) for t in AGENT_TYPES}
    assert {t: a.agent_type for t, a in agents.items()} == {t: t for t in AGENT_TYPES}
    assert isinstance(agents["risk"], RiskAgent) and agents["risk"].max_position_units == 3
    with pytest.raises(ValueError, match="choose one of momentum, risk"):
        build_agent("momentun", redis, settings)
    await redis.aclose()
