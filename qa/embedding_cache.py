"""A per-question cache in front of an embedder: triage and retrieval encode a question once.

The engine asks the safety triage first and then retrieves; both need the question's vector. Only
single-text calls (questions) are cached, keyed by the exact text; batches (passages at build time,
curated examples at start-up) pass straight through.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from qa.embedding import Embedder
from qa.lru import BoundedLRU


class QuestionCache:
    """Wraps an Embedder; remembers the vectors of the most recent `size` single-text encodes."""

    def __init__(self, inner: Embedder, size: int = 256) -> None:
        self.inner = inner
        self.size = size
        self._vectors: BoundedLRU[np.ndarray] = BoundedLRU(size)

    @classmethod
    def wrap(cls, embedder: Embedder, size: int = 256) -> QuestionCache:
        return embedder if isinstance(embedder, cls) else cls(embedder, size)

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def encode(self, texts: Sequence[str], batch_size: int = 32,
               progress: Callable[[int], None] | None = None) -> np.ndarray:
        if len(texts) != 1:
            return self.inner.encode(texts, batch_size, progress)
        key = texts[0]
        cached = self._vectors.get(key)
        if cached is None:
            cached = np.array(self.inner.encode([key], batch_size)[0], dtype=np.float32)
            cached.setflags(write=False)
            self._vectors.put(key, cached)
        if progress:
            progress(1)
        return cached[np.newaxis, :].copy()

    def clear(self) -> None:
        """Forget every cached question (benchmarks measure cold questions)."""
        self._vectors.clear()
