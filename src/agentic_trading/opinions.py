"""An agent's opinion of a signal: what every agent publishes and the orchestrator weighs."""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

STANCES = ("support", "oppose", "neutral")


@dataclass(frozen=True, slots=True)
class Opinion:
    """One agent's view of one signal.

    ``score`` is the signed strength in -1..1 (positive supports the signal's action),
    ``confidence`` how sure the agent is (0..1), ``veto`` only ever set by the risk agent.
    """

    signal_id: str
    correlation_id: str
    agent_type: str
    stance: str
    score: float
    confidence: float
    reasons: list[str] = field(default_factory=list)
    veto: bool = False
    processed_at: float = 0.0

    def __post_init__(self) -> None:
        if self.stance not in STANCES:
            raise ValueError(f"stance must be one of {STANCES}, got {self.stance!r}")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be within 0..1, got {self.confidence}")
        if not -1.0 <= self.score <= 1.0:
            raise ValueError(f"score must be within -1..1, got {self.score}")

    def to_json(self) -> bytes:
        return orjson.dumps(self)  # orjson serialises dataclasses natively, several times faster than asdict

    @classmethod
    def from_json(cls, data: bytes | str) -> Opinion:
        return cls(**orjson.loads(data))


def stance_for(score: float, *, dead_band: float = 0.05) -> str:
    """The stance a signed score stands for."""
    if score > dead_band:
        return "support"
    if score < -dead_band:
        return "oppose"
    return "neutral"
