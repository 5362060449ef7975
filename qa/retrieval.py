"""Hybrid retrieval: FAISS (dense) and BM25 (lexical) candidates fused by reciprocal rank fusion.

Fusion ranks; cosine similarity (computed from the stored vectors for every candidate, whichever
retriever found it) is kept beside the fused score because it is the calibrated evidence strength
the abstention threshold uses.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from qa.documents import Hit
from qa.index_store import LoadedIndex
from qa.settings import Settings
from qa.stage_clock import NULL_CLOCK, NullClock
from qa.synonyms import SynonymTable


def _default(name: str):
    """The default of the setting of the same name: the settings are the one place they live."""
    return Settings.model_fields[name].default


@dataclass(frozen=True)
class RetrievalParams:
    candidates: int = _default("candidates")
    rrf_k: int = _default("rrf_k")
    max_per_document: int = _default("max_per_document")
    dedup_similarity: float = _default("dedup_similarity")
    unreviewed_weight: float = _default("unreviewed_weight")
    dense_weight: float = _default("dense_weight")

    @classmethod
    def from_settings(cls, settings: Settings) -> RetrievalParams:
        return cls(**{name: getattr(settings, name) for name in cls.__dataclass_fields__})


class HybridRetriever:
    """Finds the passages that best answer a question, diverse across documents."""

    def __init__(self, index: LoadedIndex, synonyms: SynonymTable, params: RetrievalParams) -> None:
        self.index = index
        self.synonyms = synonyms
        self.params = params
        rows_by_topic: dict[str, list[int]] = {}
        for row, passage in enumerate(index.passages):
            for topic in passage.topics:
                rows_by_topic.setdefault(topic, []).append(row)
        self._topic_rows = {t: np.asarray(r, dtype=np.int64) for t, r in rows_by_topic.items()}
        self._unreviewed = {row for row, p in enumerate(index.passages) if not p.reviewed}
        # A plain ndarray view of the memory-mapped vectors: still shared, no copy, but without
        # np.memmap's per-indexing overhead.
        self._vectors = np.asarray(index.embeddings)

    def dense(self, query_vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        scores, rows = self.index.dense.search(query_vector.reshape(1, -1).astype(np.float32), k)
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0]) if r >= 0]

    def lexical(self, question: str, k: int) -> list[tuple[int, float]]:
        return self.index.lexical.search(self.synonyms.expand(question), k)

    def search(self, question: str, query_vector: np.ndarray, k: int,
               prefer_topics: tuple[str, ...] = (), clock: NullClock = NULL_CLOCK) -> list[Hit]:
        """Top-k diverse hits; passages tagged with `prefer_topics` (if any match) come first."""
        hits = self._diversify(self._ranked(question, query_vector, prefer_topics, clock), k)
        clock.lap("fusion")
        return hits

    def candidates(self, question: str, query_vector: np.ndarray,
                   prefer_topics: tuple[str, ...] = (), clock: NullClock = NULL_CLOCK) -> list[Hit]:
        """Every fused candidate in rank order, before de-duplication and per-document caps."""
        return list(self._ranked(question, query_vector, prefer_topics, clock))

    def _ranked(self, question: str, query_vector: np.ndarray, prefer_topics: tuple[str, ...],
                clock: NullClock) -> Iterator[Hit]:
        """The fused candidates in rank order, as Hits made only as far as a caller reads."""
        if not self.index.passages:
            return
        n = self.params.candidates
        dense = self.dense(query_vector, n)
        clock.lap("dense")
        lexical = self.lexical(question, n)
        clock.lap("bm25")
        fused: dict[int, float] = {}
        for weight, ranking in ((self.params.dense_weight, dense), (1.0, lexical)):
            for rank, (row, _) in enumerate(ranking):
                fused[row] = fused.get(row, 0.0) + weight / (self.params.rrf_k + rank + 1)
        if self._unreviewed and self.params.unreviewed_weight != 1.0:
            # Provenance prior: at similar relevance, reviewed and dated text outranks bulk text
            # that carries no review date (see docs/design.md for the measured effect).
            for row in self._unreviewed.intersection(fused):
                fused[row] *= self.params.unreviewed_weight
        ordered = sorted(fused, key=lambda r: (-fused[r], r))
        if prefer_topics:
            ordered = self._preferred_rows(query_vector, prefer_topics) + ordered
        similarities = (self._vectors[ordered] @ query_vector).tolist() if ordered else []
        passages = self.index.passages
        for row, similarity in zip(ordered, similarities):
            yield Hit(passages[row], row, fused.get(row, 0.0), similarity)

    def _preferred_rows(self, query_vector: np.ndarray, topics: tuple[str, ...], take: int = 2) -> list[int]:
        rows = [self._topic_rows[t] for t in topics if t in self._topic_rows]
        if not rows:
            return []
        candidates = np.unique(np.concatenate(rows))
        sims = self._vectors[candidates] @ query_vector
        best = candidates[np.argsort(-sims, kind="stable")[: take * 3]]
        return [int(r) for r in best]

    def _diversify(self, hits: Iterable[Hit], k: int) -> list[Hit]:
        """Drop near-duplicates and cap passages per document, keeping rank order."""
        chosen: list[Hit] = []
        per_document: dict[str, int] = {}
        seen_rows: set[int] = set()
        chosen_rows: list[int] = []
        for hit in hits:
            if hit.row in seen_rows:
                continue
            seen_rows.add(hit.row)
            doc = hit.passage.document_id
            if per_document.get(doc, 0) >= self.params.max_per_document:
                continue
            if chosen_rows and float(np.max(self._vectors[chosen_rows] @ self._vectors[hit.row])) \
                    >= self.params.dedup_similarity:
                continue
            chosen.append(hit)
            chosen_rows.append(hit.row)
            per_document[doc] = per_document.get(doc, 0) + 1
            if len(chosen) >= k:
                break
        return chosen
