"""Hybrid retrieval: FAISS (dense) and BM25 (lexical) candidates fused by reciprocal rank fusion,
with a third ranking of the candidates' documents by their cards (qa.indexing.document_cards);
then the top documents put in a small learned model's order (qa.retrieval.document_reranker).

Fusion ranks; cosine similarity (computed from the stored vectors for every candidate, whichever
retriever found it) is kept beside the fused score because it is the calibrated evidence strength
the abstention threshold uses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from qa.domain import Hit
from qa.indexing import dense as dense_index
from qa.indexing.layout import LoadedIndex
from qa.retrieval import overlap
from qa.retrieval.document_reranker import UNRANKED, DocumentReranker, document_table
from qa.retrieval.synonyms import SynonymTable
from qa.settings import setting_default
from qa.text import fold

Ranked = tuple[int, float, float]  # (row, fused score, cosine similarity)
Ranking = list[tuple[int, float]]  # one retriever's (row, score) pairs, best first
# What a question is about, as opposed to what it asks: taken out of the aspect query.
SUBJECT_KINDS = frozenset({"condition", "treatment"})
SIMILARITY_BLOCK = 16  # candidates whose similarity is computed together (see _ranked)
T = TypeVar("T")


@dataclass(frozen=True)
class RetrievalParams:
    candidates: int = setting_default("candidates")
    rrf_k: int = setting_default("rrf_k")
    max_per_document: int = setting_default("max_per_document")
    dedup_similarity: float = setting_default("dedup_similarity")
    unreviewed_weight: float = setting_default("unreviewed_weight")
    dense_weight: float = setting_default("dense_weight")
    aspect_weight: float = setting_default("aspect_weight")
    document_weight: float = setting_default("document_weight")


@dataclass(frozen=True)
class Query:
    """A question as retrieval reads it: its text, the text BM25 searches (with the synonym
    table's expansions), its embedding, the vectors of concepts it names in words the library
    never uses (which the expansion stands in for), and its aspect: what it asks, without the
    conditions and treatments it asks about ("" when it names none, or nothing else)."""

    text: str
    expanded: str
    vector: np.ndarray
    concepts: tuple[np.ndarray, ...] = ()
    aspect: str = ""


class HybridRetriever:
    """Finds the passages that best answer a question, diverse across documents."""

    def __init__(self, index: LoadedIndex, synonyms: SynonymTable, params: RetrievalParams,
                 reranker: DocumentReranker | None = None) -> None:
        self.index = index
        self.synonyms = synonyms
        self.params = params
        self.reranker = reranker
        self._document_ids: dict[int, str] = {}
        facts = index.row_facts  # stored with the index: a question decodes only what it returns
        self._topic_rows = facts.topics
        self._document_of_row = np.asarray(facts.documents)  # 4 bytes a passage, shared
        self._reviewed = np.asarray(facts.reviewed)
        self._all_reviewed = bool(self._reviewed.all())
        # A plain ndarray view of the memory-mapped vectors: still shared, no copy, but without
        # np.memmap's per-indexing overhead.
        self._vectors = np.asarray(index.embeddings)
        self._cards = np.asarray(index.document_vectors)
        # A graph search is long enough to hide other work behind it (see `rankings`).
        self.overlap = dense_index.is_graph(index.dense)

    def query(self, text: str, vector: np.ndarray,
              concepts: tuple[np.ndarray, ...] = ()) -> Query:
        return Query(text, self.synonyms.expand(text), vector, concepts, self._aspect(text))

    def _aspect(self, text: str) -> str:
        if not self.params.aspect_weight:
            return ""
        aspect = self.synonyms.without(text, SUBJECT_KINDS)
        if aspect.split() == fold(text).split():
            return ""  # names no subject: the aspect ranking would repeat the lexical one
        return self.synonyms.expand(aspect)

    def concept_similarity(self, row: int, query: Query) -> float:
        """How close a passage is to the concepts the query names only by the expansion."""
        return max((float(self._vectors[row] @ c) for c in query.concepts), default=-1.0)

    def rankings(self, query: Query, beside: Callable[[], T]) -> tuple[T, Ranking, Ranking]:
        """`beside()` (the caller's own work on the question, such as triage) and the dense and
        BM25 rankings. With an HNSW index FAISS releases the GIL for long enough that `beside`
        and BM25 run on a side thread while this one searches, so they cost almost nothing; a
        flat index answers so fast that the hand-over would cost more than it hides
        (docs/performance.md), so there they run one after the other."""
        k = self.params.candidates
        if not self.index.passages:
            return beside(), [], []
        if self.overlap:
            side = overlap.pool().submit(self._beside_and_lexical, beside, query)
            dense = self.dense(query.vector, k)
            first, lexical = side.result()
            return first, dense, lexical
        first = beside()
        return first, self.dense(query.vector, k), self.lexical(query, k)

    def dense(self, query_vector: np.ndarray, k: int) -> Ranking:
        scores, rows = self.index.dense.search(query_vector.reshape(1, -1).astype(np.float32), k)
        return [(r, s) for r, s in zip(rows[0].tolist(), scores[0].tolist()) if r >= 0]

    def lexical(self, query: Query, k: int) -> Ranking:
        """BM25 on the whole question, fused with BM25 on its aspect alone. Passages on one
        aspect of a treatment (the hospital stay, the cost, stopping medicines first) are often
        written for every condition, while the words naming a condition fill the documents
        about that condition: "recovery time after aHSCT for relapsing-remitting MS" then ranks
        the MS documents above the recovery passage. Searching what is asked as well restores
        it (measured in docs/design.md)."""
        whole = self.index.lexical.search(query.expanded, k)
        if not query.aspect:
            return whole
        aspect = self.index.lexical.search(query.aspect, k)
        fused = self._reciprocal_rank_fusion(((1.0, whole), (self.params.aspect_weight, aspect)))
        return sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:k]

    def _reciprocal_rank_fusion(self, weighted: Iterable[tuple[float, Ranking]]
                                ) -> dict[int, float]:
        """Each row's sum over the rankings of weight / (rrf_k + its rank)."""
        fused: dict[int, float] = {}
        for weight, ranking in weighted:
            for rank, (row, _) in enumerate(ranking):
                fused[row] = fused.get(row, 0.0) + weight / (self.params.rrf_k + rank + 1)
        return fused

    def search(self, query: Query, k: int, prefer_topics: tuple[str, ...] = ()) -> list[Hit]:
        """Top-k diverse hits; passages tagged with `prefer_topics` (if any match) come first."""
        _, dense, lexical = self.rankings(query, lambda: None)
        return self.fuse(query.vector, dense, lexical, k, prefer_topics)

    def fuse(self, query_vector: np.ndarray, dense: Ranking, lexical: Ranking, k: int,
             prefer_topics: tuple[str, ...] = ()) -> list[Hit]:
        """The top-k diverse hits of rankings already made."""
        fused, _, ordered = self._order(query_vector, dense, lexical)
        return self._top(ordered, fused, query_vector, prefer_topics, k)

    def answer_hits(self, query_vector: np.ndarray, dense: Ranking, lexical: Ranking, k: int,
                    prefer_topics: tuple[str, ...] = ()) -> tuple[list[Hit], list[Hit]]:
        """The top-k diverse hits an answer quotes, and the top-k in fused order, without the
        document reranker (the same list when there is none): what abstention reads. Why: its
        threshold was calibrated on them, the reranker was fitted to order documents rather
        than to say whether any answers, and by lifting more documents' best passages into the
        hits it would raise the evidence of off-topic messages. One fusion serves both."""
        fused, in_fused_order, ordered = self._order(query_vector, dense, lexical)
        plain = self._top(in_fused_order, fused, query_vector, prefer_topics, k)
        if ordered is in_fused_order:
            return plain, plain
        return self._top(ordered, fused, query_vector, prefer_topics, k), plain

    def _top(self, ordered: list[int], fused: dict[int, float], query_vector: np.ndarray,
             prefer_topics: tuple[str, ...], k: int) -> list[Hit]:
        rows = self._diversify(self._with_similarities(ordered, fused, query_vector,
                                                       prefer_topics), k)
        return [self._hit(*ranked) for ranked in rows]

    def candidates(self, query: Query, prefer_topics: tuple[str, ...] = ()) -> list[Hit]:
        """Every fused candidate in rank order, before de-duplication and per-document caps."""
        _, dense, lexical = self.rankings(query, lambda: None)
        return [self._hit(*ranked) for ranked in
                self._ranked(query.vector, dense, lexical, prefer_topics)]

    def _beside_and_lexical(self, beside: Callable[[], T], query: Query) -> tuple[T, Ranking]:
        return beside(), self.lexical(query, self.params.candidates)

    def _hit(self, row: int, fused: float, similarity: float) -> Hit:
        return Hit(self.index.passages[row], row, fused, similarity)

    def _ranked(self, query_vector: np.ndarray, dense: Ranking, lexical: Ranking,
                prefer_topics: tuple[str, ...]) -> Iterator[Ranked]:
        """The candidates in rank order (the document reranker's, when there is one)."""
        fused, _, ordered = self._order(query_vector, dense, lexical)
        return self._with_similarities(ordered, fused, query_vector, prefer_topics)

    def _order(self, query_vector: np.ndarray, dense: Ranking, lexical: Ranking,
               rerank: bool = True) -> tuple[dict[int, float], list[int], list[int]]:
        """The fused scores, the candidates in fused order, and the candidates in the order
        answers use: the document reranker's when there is one (else the same list)."""
        fused = self._fused(query_vector, dense, lexical)
        in_fused_order = sorted(fused, key=lambda r: (-fused[r], r))
        if not rerank or self.reranker is None or not in_fused_order:
            return fused, in_fused_order, in_fused_order
        return fused, in_fused_order, self._reranked(in_fused_order, fused, query_vector, dense,
                                                     lexical)

    def _with_similarities(self, ordered: list[int], fused: dict[int, float],
                           query_vector: np.ndarray, prefer_topics: tuple[str, ...]
                           ) -> Iterator[Ranked]:
        """The candidates with their similarities, computed only as far as a caller reads."""
        if prefer_topics:
            ordered = self._preferred_rows(query_vector, prefer_topics) + ordered
        # Similarities a block at a time: a caller that stops after a dozen candidates reads a
        # dozen vectors, not all 2 x `candidates` (each read is a cache miss after the encode).
        for start in range(0, len(ordered), SIMILARITY_BLOCK):
            rows = ordered[start:start + SIMILARITY_BLOCK]
            similarities = (self._vectors[rows] @ query_vector).tolist()
            for row, similarity in zip(rows, similarities):
                yield row, fused.get(row, 0.0), similarity

    def _fused(self, query_vector: np.ndarray, dense: Ranking, lexical: Ranking
               ) -> dict[int, float]:
        fused = self._reciprocal_rank_fusion(((self.params.dense_weight, dense), (1.0, lexical)))
        if self.params.document_weight and fused and len(self._cards):
            self._add_document_ranking(fused, query_vector)
        if not self._all_reviewed and self.params.unreviewed_weight != 1.0:
            # Provenance prior: at similar relevance, reviewed and dated text outranks bulk text
            # that carries no review date (see docs/design.md for the measured effect).
            rows = list(fused)
            for row, reviewed in zip(rows, self._reviewed[rows].tolist()):
                if not reviewed:
                    fused[row] *= self.params.unreviewed_weight
        return fused

    def document_features(self, query: Query, reference_documents: frozenset[str], top: int
                          ) -> tuple[list[str], np.ndarray]:
        """The first `top` documents of the fused ranking (before any reranking) and the
        reranker's features for each: what `bench/document_reranker.py` fits the weights on."""
        _, dense, lexical = self.rankings(query, lambda: None)
        fused, ordered, _ = self._order(query.vector, dense, lexical, rerank=False)
        rows, table = self._document_table(ordered, fused, query.vector, dense, lexical,
                                           reference_documents, top)
        return [self._document_id(row) for row in rows], table

    def _document_table(self, ordered: list[int], fused: dict[int, float],
                        query_vector: np.ndarray, dense: Ranking, lexical: Ranking,
                        reference: frozenset[str], top: int) -> tuple[list[int], np.ndarray]:
        """The first passage (row) of each of the first `top` documents, and their features."""
        rows = np.asarray(ordered, dtype=np.int64)
        dense_rank = {row: rank for rank, (row, _) in enumerate(dense)}
        lexical_rank = {row: rank for rank, (row, _) in enumerate(lexical)}
        numbers = self._document_of_row[rows]

        def cards(positions: np.ndarray) -> np.ndarray:
            if not len(self._cards):
                return np.zeros(len(positions))
            return self._cards[numbers[positions]] @ query_vector

        def is_reference(positions: np.ndarray) -> np.ndarray:
            return np.array([self._document_id(ordered[p]) in reference for p in positions])

        def probability(positions: np.ndarray) -> np.ndarray:
            # Without a reranker nothing reads these columns (bench/document_reranker.py puts
            # its own cross-fitted probabilities there).
            if self.reranker is None:
                return np.ones(len(positions))
            return self.reranker.classifier.probabilities(
                query_vector, [self._document_id(ordered[p]) for p in positions])

        positions, table = document_table(
            numbers, np.array([fused[row] for row in ordered]), self._vectors[rows] @ query_vector,
            np.array([dense_rank.get(row, UNRANKED) for row in ordered]),
            np.array([lexical_rank.get(row, UNRANKED) for row in ordered]),
            cards, is_reference, probability, top)
        return [ordered[p] for p in positions.tolist()], table

    def _reranked(self, ordered: list[int], fused: dict[int, float], query_vector: np.ndarray,
                  dense: Ranking, lexical: Ranking) -> list[int]:
        """The candidates with the top documents in the reranker's order: each one's best
        passage first, in that order, so the quotes come from the documents it put first; then
        every other candidate in fused order."""
        assert self.reranker is not None
        firsts, table = self._document_table(
            ordered, fused, query_vector, dense, lexical, self.reranker.reference_documents,
            self.reranker.top)
        first = [firsts[i] for i in self.reranker.order(table).tolist()]
        chosen = set(first)
        return first + [row for row in ordered if row not in chosen]

    def _document_id(self, row: int) -> str:
        """The id of a row's document, decoded from the first of its passages asked about and
        then remembered (one short string per document), so reranking decodes no passage
        twice."""
        number = int(self._document_of_row[row])
        known = self._document_ids.get(number)
        if known is None:
            known = self._document_ids[number] = self.index.passages[row].document_id
        return known

    def _add_document_ranking(self, fused: dict[int, float], query_vector: np.ndarray) -> None:
        """Add to each candidate's fused score its document's reciprocal rank among the
        candidates' documents, ranked by card similarity. Only the candidates' documents are
        ranked, so the cost follows the candidate count, not the size of the library."""
        rows = list(fused)
        documents, of_row = np.unique(self._document_of_row[rows], return_inverse=True)
        ranks = np.empty(len(documents), dtype=np.int64)
        ranks[np.argsort(-(self._cards[documents] @ query_vector), kind="stable")] = \
            np.arange(len(documents))
        added = self.params.document_weight / (self.params.rrf_k + ranks[of_row] + 1.0)
        for row, extra in zip(rows, added.tolist()):
            fused[row] += extra

    def _preferred_rows(self, query_vector: np.ndarray, topics: tuple[str, ...], take: int = 2) -> list[int]:
        rows = [self._topic_rows[t] for t in topics if t in self._topic_rows]
        if not rows:
            return []
        candidates = np.unique(np.concatenate(rows))
        sims = self._vectors[candidates] @ query_vector
        best = candidates[np.argsort(-sims, kind="stable")[: take * 3]]
        return [int(r) for r in best]

    def _diversify(self, ranked: Iterable[Ranked], k: int) -> list[Ranked]:
        """Drop near-duplicates and cap passages per document, keeping rank order."""
        chosen: list[Ranked] = []
        if k <= 0:
            return chosen
        per_document: dict[int, int] = {}
        seen_rows: set[int] = set()
        # The chosen passages' vectors, filled in place: one small product per candidate
        # instead of gathering every chosen vector again for each one.
        chosen_vectors = np.empty((k, self._vectors.shape[1]), dtype=self._vectors.dtype)
        for candidate in ranked:
            row = candidate[0]
            if row in seen_rows:
                continue
            seen_rows.add(row)
            doc = int(self._document_of_row[row])
            if per_document.get(doc, 0) >= self.params.max_per_document:
                continue
            vector = self._vectors[row]
            if chosen and float((chosen_vectors[:len(chosen)] @ vector).max()) \
                    >= self.params.dedup_similarity:
                continue
            chosen_vectors[len(chosen)] = vector
            chosen.append(candidate)
            per_document[doc] = per_document.get(doc, 0) + 1
            if len(chosen) >= k:
                break
        return chosen
