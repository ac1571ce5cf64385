"""Which canary signals are still waiting for their decision: pure bookkeeping, the caller's clock."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class CanaryTracker:
    """Signals sent and not yet decided; each is decided in time, or expires as undecided."""

    deadline_s: float
    outstanding: dict[str, float] = field(default_factory=dict)  # signal_id -> sent at

    def sent(self, signal_id: str, at: float) -> None:
        self.outstanding[signal_id] = at

    def decided(self, signal_id: str, at: float) -> float | None:
        """Seconds from send to decision for one of ours still waiting; None otherwise
        (another signal's decision, a duplicate, or one already counted undecided)."""
        sent_at = self.outstanding.pop(signal_id, None)
        return None if sent_at is None else max(0.0, at - sent_at)

    def expire(self, now: float) -> int:
        """Forget the signals past their deadline; returns how many (each is one undecided)."""
        late = [signal_id for signal_id, sent_at in self.outstanding.items() if now - sent_at > self.deadline_s]
        for signal_id in late:
            del self.outstanding[signal_id]
        return len(late)
