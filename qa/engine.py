"""QAEngine.ask(question) → Answer: the one object the CLI and the web layer use.

Order of work for every question: normalise → (answer cache) → embed once → triage beside the
dense and BM25 rankings (safety first: nothing is shown before the verdict is read) → fuse →
abstain or quote. The engine knows nothing about HTTP.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

import numpy as np

from qa.answering.disclaimers import DisclaimerPolicy
from qa.answering.highlight import terms
from qa.answering.quotes import compose_quotes, related_prompts
from qa.cache import BoundedLRU
from qa.domain import Answer, AnswerKind, Hit, Quote, Triage
from qa.encoders import Embedder, embedder_from_settings
from qa.errors import IndexLoadError
from qa.indexing import dense
from qa.indexing.layout import LoadedIndex, load_index
from qa.retrieval.hybrid import HybridRetriever, Query, RetrievalParams
from qa.retrieval.synonyms import SynonymTable
from qa.safety.triage import Triager
from qa.settings import Settings
from qa.stage_clock import NULL_CLOCK, Clock
from qa.text import normalise_question

PREFERRED_TOPICS_FOR_CLINIC_SEEKING = ("red-flags", "regulation")
EXTRA_FOR_RELATED = 3  # hits ranked beyond the quotes, offered as follow-up prompts


class TriagePolicy(Protocol):
    """What the engine needs of triage: a verdict from the question and its embedding."""

    def decide(self, question: str, vector: np.ndarray) -> Triage: ...


class QAEngine:
    """Answers questions by quoting the index; holds the model, the index and the policies."""

    def __init__(self, index: LoadedIndex, embedder: Embedder, settings: Settings,
                 triage: TriagePolicy | None = None, policy: DisclaimerPolicy | None = None) -> None:
        if embedder.dimension != index.manifest["model"]["dimension"]:
            raise IndexLoadError(
                f"index dimension {index.manifest['model']['dimension']} does not match model "
                f"dimension {embedder.dimension}; run `qa build` to rebuild it")
        dense.configure_search(index.dense, settings.hnsw_ef_search)
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self.retriever = HybridRetriever(
            index, SynonymTable.from_file(settings.synonyms_file),
            RetrievalParams(**{name: getattr(settings, name)
                               for name in RetrievalParams.__dataclass_fields__}))
        self.triage = triage
        self.policy = policy or DisclaimerPolicy.from_settings(settings)
        # Whole answers of recent questions, keyed by the normalised text. The cache lives and
        # dies with this engine, so a hot-swapped index never serves an answer from the old one.
        # In memory only: questions are never written anywhere.
        self.answers: BoundedLRU[Answer] = BoundedLRU(settings.answer_cache_size)

    @classmethod
    def from_settings(cls, settings: Settings, embedder: Embedder | None = None,
                      index: LoadedIndex | None = None) -> QAEngine:
        """Load the verified index, the configured model (never downloading anything) and the
        triage rules — everything a hot swap replaces together."""
        index = index or load_index(settings.index_dir, expected_model=settings.model)
        embedder = embedder or embedder_from_settings(settings)
        return cls(index, embedder, settings, triage=Triager.from_settings(settings, embedder))

    def encode(self, text: str) -> np.ndarray:
        return self.embedder.encode([text])[0]

    def query(self, question: str) -> Query:
        text = normalise_question(question, self.settings.max_question_chars)
        return self.retriever.query(text, self.encode(text))

    def search(self, question: str, k: int | None = None,
               prefer_topics: tuple[str, ...] = ()) -> list[Hit]:
        """Retrieval only (no triage, no abstention): used by `qa search` and evaluation."""
        return self.retriever.search(self.query(question), k or self.settings.top_k, prefer_topics)

    def rank_documents(self, question: str, k: int = 10) -> list[tuple[str, float]]:
        """Document-level ranking (a document scores as its best passage), for batch evaluation."""
        ranked: dict[str, float] = {}
        for hit in self.retriever.candidates(self.query(question)):
            if hit.passage.document_id not in ranked:
                ranked[hit.passage.document_id] = hit.fused
                if len(ranked) >= k:
                    break
        return list(ranked.items())

    def ask(self, question: object, clock: Clock = NULL_CLOCK) -> Answer:
        """The reply to one question; `clock` is told as each stage (`qa.stage_clock.STAGES`)
        ends. A repeated question is served from the answer cache."""
        started = time.perf_counter()
        text = normalise_question(question, self.settings.max_question_chars)
        clock.lap("normalise")
        cached = self.answers.get(text)
        if cached is not None:
            clock.lap("cache")
            return replace(cached, took_ms=(time.perf_counter() - started) * 1000)
        answer = self._answer(text, started, clock)
        self.answers.put(text, answer)
        return answer

    def _answer(self, text: str, started: float, clock: Clock) -> Answer:
        query = self.retriever.query(text, self.encode(text))
        clock.lap("embed")
        triage, dense_ranking, lexical_ranking = self.retriever.rankings(
            query, lambda: self._triage(query))
        clock.lap("rankings")

        def reply(kind: AnswerKind, message: str, quotes: Sequence[Quote] = (),
                  related: Sequence[str] = ()) -> Answer:
            answer = Answer(
                kind=kind, message=message, quotes=tuple(quotes),
                disclaimers=tuple(self.policy.disclaimers(kind, triage, quotes)),
                flags=triage.flags, related=tuple(related), triage=triage,
                took_ms=(time.perf_counter() - started) * 1000)
            clock.lap("compose")
            return answer

        if triage.category == "emergency":
            return reply("emergency", self.policy.emergency_message(triage))
        if triage.category == "out_of_scope":
            return reply("out_of_scope", self.policy.scope_message())

        prefer = PREFERRED_TOPICS_FOR_CLINIC_SEEKING if "unproven_clinic" in triage.flags else ()
        top_k = self.settings.top_k
        hits = self.retriever.fuse(query.vector, dense_ranking, lexical_ranking,
                                   top_k + EXTRA_FOR_RELATED, prefer)
        clock.lap("fusion")
        if evidence_strength(hits) < self.settings.min_score:
            return reply("no_answer", self.policy.no_answer_message())
        shown, rest = hits[:top_k], hits[top_k:]
        quotes = compose_quotes(shown, terms(query.expanded))
        return reply("answer", self.policy.answer_message(), quotes, related_prompts(shown, rest))

    def _triage(self, query: Query) -> Triage:
        return self.triage.decide(query.text, query.vector) if self.triage else Triage()


def evidence_strength(hits: list[Hit]) -> float:
    """What abstention compares with QA_MIN_SCORE (and what calibration measures): the best
    cosine similarity among the retrieved passages."""
    return max((h.similarity for h in hits), default=-1.0)
