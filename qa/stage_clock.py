"""Per-stage timing of one question, for the benchmarks and the `qa ask --timings` view.

The engine calls `lap(stage)` at the end of each stage; the default clock does nothing, so the
hot path pays one no-op call per stage when nobody is measuring.
"""

from __future__ import annotations

import time

# In order. An answer passes through either triage, dense, bm25 (one after the other) or dense
# and wait: with an HNSW index, triage and BM25 run on a side thread during the dense search, and
# only the time they add after it ("wait") is on the question's path. Their own durations are
# then recorded beside the laps (`asides`), not added to them.
STAGES = ("normalise", "embed", "triage", "dense", "bm25", "wait", "fusion", "compose")


class NullClock:
    """The clock used when nobody is measuring."""

    def lap(self, stage: str) -> None:
        """Mark the end of `stage` (ignored)."""

    def aside(self, stage: str, ms: float) -> None:
        """Record work done on another thread, beside the stages (ignored)."""


class StageClock(NullClock):
    """Milliseconds spent in each stage since the clock started (or since the previous lap)."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self.asides: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.laps[stage] = self.laps.get(stage, 0.0) + (now - self._last) * 1000
        self._last = now

    def aside(self, stage: str, ms: float) -> None:
        self.asides[stage] = self.asides.get(stage, 0.0) + ms

    @property
    def total_ms(self) -> float:
        return sum(self.laps.values())


NULL_CLOCK = NullClock()
