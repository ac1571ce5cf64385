"""What the fault proxy does to bytes, as pure arithmetic (no sockets): unit-tested alone.

Toxiproxy's vocabulary: ``latency`` (+ ``jitter``) delays every chunk, ``bandwidth`` caps
bytes per second, ``half_open`` keeps connections open but delivers nothing (a silent
partition: the client only notices through its own timeouts), ``reset`` answers every
connection, open or new, with a TCP RST. Order is always kept: a chunk never overtakes
the one before it, whatever the jitter.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

MODES = ("pass", "half_open", "reset")


@dataclass(frozen=True)
class Toxics:
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    bandwidth_bps: float = 0.0  # bytes per second; 0 = unlimited
    mode: str = "pass"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.latency_ms < 0 or self.jitter_ms < 0 or self.bandwidth_bps < 0:
            raise ValueError("latency_ms, jitter_ms and bandwidth_bps cannot be negative")
        if self.jitter_ms > self.latency_ms:
            raise ValueError(f"jitter_ms ({self.jitter_ms}) above latency_ms ({self.latency_ms}) would need negative delays")

    def describe(self) -> str:
        parts = []
        if self.latency_ms:
            parts.append(f"{self.latency_ms:g} ms latency" + (f" ± {self.jitter_ms:g} ms" if self.jitter_ms else ""))
        if self.bandwidth_bps:
            parts.append(f"{self.bandwidth_bps:g} B/s")
        if self.mode != "pass":
            parts.append(self.mode.replace("_", "-"))
        return ", ".join(parts) or "no toxics"


class ChunkSchedule:
    """When each chunk of one direction of one connection may be written onward."""

    def __init__(self, toxics: Toxics, rng: random.Random | None = None):
        self.toxics = toxics
        self.rng = rng or random.Random()
        self._last_release = 0.0

    def delay_s(self) -> float:
        jitter = self.rng.uniform(-self.toxics.jitter_ms, self.toxics.jitter_ms) if self.toxics.jitter_ms else 0.0
        return max(0.0, self.toxics.latency_ms + jitter) / 1000.0

    def release_at(self, received_at: float, size: int) -> float:
        """The time a chunk of ``size`` bytes read at ``received_at`` leaves: delayed, in order, paced."""
        start = max(received_at + self.delay_s(), self._last_release)
        if self.toxics.bandwidth_bps:
            start += size / self.toxics.bandwidth_bps
        self._last_release = start
        return start
