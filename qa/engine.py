"""QAEngine.ask(question) → Answer: the one object the CLI and the web layer use.

Order of work for every question: normalise → (answer cache) → embed once → dense search, with
triage and BM25 beside it on a side thread → the triage verdict (safety first) → fuse → abstain or
quote. The engine knows nothing about HTTP.
"""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import replace
from typing import NamedTuple, Protocol

import numpy as np

from qa.answering.quotes import compose_quotes, related_prompts
from qa.answering.disclaimers import DisclaimerPolicy
from qa.domain import Answer, Hit, Triage
from qa.encoders.torch_backend import Embedder, embedder_from_settings
from qa.errors import IndexLoadError, InvalidQuestion
from qa.answering.highlight import terms
from qa.indexing.layout import LoadedIndex, load_index
from qa.cache import BoundedLRU
from qa.retrieval.hybrid import HybridRetriever, Ranking, RetrievalParams
from qa.safety.triage import Triager as SafetyTriager
from qa.settings import Settings
from qa.retrieval.overlap import side_pool
from qa.stage_clock import NULL_CLOCK, NullClock
from qa.retrieval.synonyms import SynonymTable

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]")
PREFERRED_TOPICS_FOR_CLINIC_SEEKING = ("red-flags", "regulation")


class Triager(Protocol):
    def decide(self, question: str, vector: np.ndarray) -> Triage: ...


class Groundwork(NamedTuple):
    """What a question needs before fusion: the triage verdict, both rankings, and (when the side
    thread had time for them) the stemmed terms that highlighting looks for."""

    triage: Triage
    dense: Ranking
    lexical: Ranking
    query_terms: set[str] | None = None


def normalise_question(question: object, max_chars: int) -> str:
    """Control characters removed, whitespace collapsed, NFKC; empty, wordless or too long is
    refused. Length is checked before NFKC, which can expand one character into many."""
    if not isinstance(question, str):
        raise InvalidQuestion("the question must be a string")
    text = " ".join(_CONTROL.sub(" ", question).split())
    if not text:
        raise InvalidQuestion("the question is empty")
    if len(text) > max_chars:
        raise InvalidQuestion(f"the question is longer than {max_chars} characters")
    if not any(ch.isalnum() for ch in text):
        raise InvalidQuestion("the question has no words")
    return " ".join(_CONTROL.sub(" ", unicodedata.normalize("NFKC", text)).split())


class QAEngine:
    """Answers questions by quoting the index; holds the model, the index and the policies."""

    def __init__(self, index: LoadedIndex, embedder: Embedder, settings: Settings,
                 triager: Triager | None = None, policy: DisclaimerPolicy | None = None) -> None:
        if embedder.dimension != index.manifest["model"]["dimension"]:
            raise IndexLoadError(
                f"index dimension {index.manifest['model']['dimension']} does not match model "
                f"dimension {embedder.dimension}; run `qa build` to rebuild it")
        configure_dense_search(index, settings)
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self.retriever = HybridRetriever(
            index, SynonymTable.from_file(settings.synonyms_file),
            RetrievalParams.from_settings(settings))
        self.triager = triager
        self.overlap_side_work = hasattr(index.dense, "hnsw")  # see _triage_and_rankings
        self.policy = policy or DisclaimerPolicy.from_settings(settings)
        # Whole answers of recent questions, keyed by the normalised text. The cache lives and
        # dies with this engine, so a hot-swapped index never serves an answer from the old one.
        # In memory only: questions are never written anywhere.
        self.answers: BoundedLRU[Answer] = BoundedLRU(settings.answer_cache_size)

    @classmethod
    def from_settings(cls, settings: Settings, embedder: Embedder | None = None) -> QAEngine:
        """Load the verified index and the configured model (never downloading anything)."""
        index = load_index(settings.index_dir, expected_model=settings.model)
        # `ask` encodes a question once and hands the vector to triage and retrieval; repeated
        # questions are served whole from the answer cache.
        embedder = embedder or embedder_from_settings(settings)
        return cls(index, embedder, settings, triager=SafetyTriager.from_settings(settings, embedder))

    def encode_question(self, question: str) -> np.ndarray:
        return self.embedder.encode([question])[0]

    def search(self, question: str, k: int | None = None,
               prefer_topics: tuple[str, ...] = ()) -> list[Hit]:
        """Retrieval only (no triage, no abstention): used by `qa search` and evaluation."""
        text = normalise_question(question, self.settings.max_question_chars)
        return self.retriever.search(text, self.encode_question(text), k or self.settings.top_k,
                                     prefer_topics)

    def rank_documents(self, question: str, k: int = 10) -> list[tuple[str, float]]:
        """Document-level ranking (a document scores as its best passage), for batch evaluation."""
        text = normalise_question(question, self.settings.max_question_chars)
        ranked: dict[str, float] = {}
        for hit in self.retriever.candidates(text, self.encode_question(text)):
            if hit.passage.document_id not in ranked:
                ranked[hit.passage.document_id] = hit.fused
                if len(ranked) >= k:
                    break
        return list(ranked.items())

    def ask(self, question: object, clock: NullClock = NULL_CLOCK) -> Answer:
        """Stages in order (`qa.stage_clock.STAGES`): normalise, embed, then triage, dense and
        bm25 one after the other, or with an HNSW index dense and the wait for triage and BM25
        (run beside it, their times recorded as asides), then fusion, compose; `clock` is told
        when each ends. A repeated question is served from the answer cache."""
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

    def _answer(self, text: str, started: float, clock: NullClock) -> Answer:
        vector = self.encode_question(text)
        clock.lap("embed")
        triage, dense, lexical, query_terms = self._triage_and_rankings(text, vector, clock)

        def reply(kind, message, quotes=(), related=()) -> Answer:
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
        hits = self.retriever.fuse(vector, dense, lexical, self.settings.top_k + 3, prefer, clock)
        if evidence_strength(hits) < self.settings.min_score:
            return reply("no_answer", self.policy.no_answer_message())
        shown, rest = hits[: self.settings.top_k], hits[self.settings.top_k:]
        if query_terms is None:
            query_terms = terms(self.retriever.synonyms.expand(text))
        quotes = compose_quotes(shown, query_terms)
        return reply("answer", self.policy.answer_message(), quotes, related_prompts(shown, rest))

    def _triage_and_rankings(self, text: str, vector: np.ndarray, clock: NullClock
                             ) -> Groundwork:
        """Triage, then the dense and BM25 rankings. Nothing is shown before the triage verdict
        is read, so safety comes first whichever of them finishes first.

        With an HNSW index the dense search is long enough to hide triage and BM25 behind it:
        they run on a side thread while this one searches FAISS, which releases the GIL, and the
        side thread then also finds the highlighting terms, which compose would otherwise find
        after fusion. A flat index answers so fast that the hand-over would cost more than it
        hides (measured)."""
        if not self.overlap_side_work:
            triage = self._triage(text, vector)
            clock.lap("triage")
            dense, lexical = self.retriever.rankings(text, vector, clock)
            return Groundwork(triage, dense, lexical)
        side = side_pool().submit(self._side_work, text, vector)
        dense = self.retriever.dense(vector, self.retriever.params.candidates)
        clock.lap("dense")
        triage, lexical, query_terms, side_laps = side.result()
        clock.lap("wait")
        for stage, ms in side_laps:
            clock.aside(stage, ms)
        return Groundwork(triage, dense, lexical, query_terms)

    def _triage(self, text: str, vector: np.ndarray) -> Triage:
        return self.triager.decide(text, vector) if self.triager else Triage()

    def _side_work(self, text: str, vector: np.ndarray
                   ) -> tuple[Triage, Ranking, set[str], list[tuple[str, float]]]:
        """The side thread's share of a question, with how long each part took."""
        started = time.perf_counter()
        triage = self._triage(text, vector)
        triaged = time.perf_counter()
        lexical = self.retriever.lexical(text, self.retriever.params.candidates)
        ranked = time.perf_counter()
        query_terms = terms(self.retriever.synonyms.expand(text))  # the expansion is remembered
        done = time.perf_counter()
        return triage, lexical, query_terms, [("triage", (triaged - started) * 1000),
                                              ("bm25", (ranked - triaged) * 1000),
                                              ("terms", (done - ranked) * 1000)]

    def retrieve(self, text: str, vector: np.ndarray, prefer: tuple[str, ...] = (),
                 clock: NullClock = NULL_CLOCK) -> list[Hit]:
        """The quotes to show plus a few more (for follow-up prompts), as `ask` ranks them."""
        return self.retriever.search(text, vector, self.settings.top_k + 3, prefer, clock)


def configure_dense_search(index: LoadedIndex, settings: Settings) -> None:
    """Query-time FAISS settings. One question is one query: OpenMP threads only add hand-offs
    (measured: exact search over 32k passages 5 ms on 2 threads, 1.7 ms on 1) and compete with
    the model's own threads. efSearch is a serving choice, so it comes from the settings."""
    import faiss

    faiss.omp_set_num_threads(1)
    if hasattr(index.dense, "hnsw"):
        index.dense.hnsw.efSearch = settings.hnsw_ef_search


def evidence_strength(hits: list[Hit]) -> float:
    """What abstention compares with QA_MIN_SCORE (and what calibration measures): the best
    cosine similarity among the retrieved passages."""
    return max((h.similarity for h in hits), default=-1.0)
