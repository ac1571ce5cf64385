"""Pure scoring: from a signal and the agents' opinions to one decision.

The rules, in order:

1. A ``hold`` signal is held.
2. A veto from the risk agent rejects the signal.
3. Without the risk agent's opinion (it missed the deadline) nothing is executed: the
   signal is held, and the reasons say why.
4. Otherwise the weighted score of the opinions present decides::

       score = sum(w[a] * score[a] * confidence[a]) / sum(w[a])      over agents a present

   ``score >= EXECUTE_THRESHOLD`` executes, ``score <= -EXECUTE_THRESHOLD`` rejects, anything
   between is held.

Worked example (the specification's EURUSD buy): momentum +0.6 at confidence 0.8,
risk +0.5 at 0.9, sentiment +0.2 at 0.5, correlation +0.1 at 0.6 give
``(0.3*0.48 + 0.3*0.45 + 0.2*0.10 + 0.2*0.06) / 1.0 = 0.311`` -> execute.

The workflow status is ``degraded`` when any agent is missing, ``rejected`` on a veto,
``completed`` otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from agentic_trading.opinions import Opinion
from agentic_trading.settings import AGENT_TYPES
from agentic_trading.signals import Signal

AGENT_WEIGHTS: dict[str, float] = {"momentum": 0.3, "risk": 0.3, "sentiment": 0.2, "correlation": 0.2}
EXECUTE_THRESHOLD = 0.1


@dataclass(frozen=True, slots=True)
class Decision:
    signal_id: str
    correlation_id: str
    instrument: str
    action: str
    decision: str  # execute | reject | hold
    status: str  # completed | degraded | rejected
    score: float
    reasons: list[str]
    missing_agents: list[str]
    opinions: dict[str, dict[str, float | str | bool]] = field(default_factory=dict)
    test: bool = False
    decided_at: float = 0.0
    latency_s: float = 0.0

    @property
    def changes_position(self) -> bool:
        """Only an executed live buy or sell moves the paper ledger."""
        return self.decision == "execute" and not self.test and self.action in ("buy", "sell")

    @property
    def position_delta(self) -> int:
        return {"buy": 1, "sell": -1}.get(self.action, 0) if self.changes_position else 0

    def to_json(self) -> bytes:
        return orjson.dumps(self)  # orjson serialises dataclasses natively, several times faster than asdict

    @classmethod
    def from_json(cls, data: bytes | str) -> Decision:
        return cls(**orjson.loads(data))


def weighted_score(opinions: dict[str, Opinion]) -> float:
    total_weight = sum(AGENT_WEIGHTS.get(a, 0.0) for a in opinions)
    if total_weight == 0:
        return 0.0
    raw = sum(AGENT_WEIGHTS.get(a, 0.0) * o.score * o.confidence for a, o in opinions.items())
    return round(raw / total_weight, 4)


def decide(
    signal: Signal,
    opinions: dict[str, Opinion],
    *,
    decided_at: float,
    expected_agents: tuple[str, ...] = AGENT_TYPES,
) -> Decision:
    missing = [a for a in expected_agents if a not in opinions]
    score = weighted_score(opinions)
    reasons: list[str] = []
    vetoed = [o for o in opinions.values() if o.veto]

    if signal.action == "hold":
        verdict = "hold"
        reasons.append("the signal asks to hold")
    elif vetoed:
        verdict = "reject"
        reasons.extend(f"veto by {o.agent_type}: {'; '.join(o.reasons) or 'no reason given'}" for o in vetoed)
    elif "risk" in missing:
        verdict = "hold"
        reasons.append("risk agent did not answer before the deadline: not executing without a risk check")
    elif score >= EXECUTE_THRESHOLD:
        verdict = "execute"
        reasons.append(f"weighted score {score:+.3f} >= {EXECUTE_THRESHOLD}")
    elif score <= -EXECUTE_THRESHOLD:
        verdict = "reject"
        reasons.append(f"weighted score {score:+.3f} <= -{EXECUTE_THRESHOLD}")
    else:
        verdict = "hold"
        reasons.append(f"weighted score {score:+.3f} inside the dead band ±{EXECUTE_THRESHOLD}")
    if missing:
        reasons.append("decided at the deadline without: " + ", ".join(missing))

    status = "degraded" if missing else ("rejected" if vetoed else "completed")
    return Decision(
        signal_id=signal.signal_id,
        correlation_id=signal.correlation_id,
        instrument=signal.instrument,
        action=signal.action,
        decision=verdict,
        status=status,
        score=score,
        reasons=reasons,
        missing_agents=missing,
        opinions={
            a: {"stance": o.stance, "score": o.score, "confidence": o.confidence, "veto": o.veto}
            for a, o in sorted(opinions.items())
        },
        test=signal.test,
        decided_at=decided_at,
        latency_s=round(max(0.0, decided_at - signal.received_at), 6),
    )
