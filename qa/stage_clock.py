"""Per-stage timing of one question, for the benchmarks and the `qa ask --timings` view.

The engine calls `lap(stage)` at the end of each stage; the default clock does nothing, so the
hot path pays one no-op call per stage when nobody is measuring.
"""

from __future__ import annotations

import time
from typing import Protocol

# In order. "rankings" is triage with the dense and BM25 searches (with an HNSW index triage and
# BM25 run beside the dense search, see qa.retrieval.hybrid); a repeated question ends at "cache".
STAGES = ("normalise", "cache", "embed", "rankings", "fusion", "compose")


class Clock(Protocol):
    def lap(self, stage: str) -> None:
        """Mark the end of `stage`."""


class NullClock:
    """The clock used when nobody is measuring."""

    def lap(self, stage: str) -> None:
        """Ignored."""


class StageClock:
    """Milliseconds spent in each stage since the clock started (or since the previous lap)."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.laps[stage] = self.laps.get(stage, 0.0) + (now - self._last) * 1000
        self._last = now

    @property
    def total_ms(self) -> float:
        return sum(self.laps.values())


NULL_CLOCK: Clock = NullClock()
