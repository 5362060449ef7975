"""QAEngine.ask(question, history) → Answer: the one object the CLI and the web layer use.

Order of work for every message: normalise → (answer cache) → understand (a follow-up gets its
topic from the earlier messages, unknown words their spelling) → one model call (the message as
typed for triage and, when it differs, the question retrieval reads, in one batch) → triage beside
the dense and BM25 rankings (safety first: nothing is shown before the verdict is read) → fuse →
abstain or quote. The engine knows nothing about HTTP and keeps no conversation: the caller
sends the earlier messages each time.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from qa.answering.disclaimers import DisclaimerPolicy
from qa.answering.highlight import terms
from qa.answering.quotes import compose_quotes, related_prompts
from qa.cache import BoundedLRU
from qa.domain import Answer, AnswerKind, Correction, Hit, Quote, Triage
from qa.encoders import Embedder, embedder_from_settings
from qa.errors import IndexLoadError, InvalidQuestion
from qa.indexing import dense
from qa.indexing.layout import LoadedIndex, load_index
from qa.retrieval.concept_vectors import concept_vectors, library_count, table_for_library
from qa.retrieval.conversation import resolve
from qa.retrieval.document_reranker import DocumentReranker
from qa.retrieval.hybrid import HybridRetriever, Query, RetrievalParams
from qa.retrieval.spelling import Speller
from qa.safety.triage import LEANS_OUT_OF_SCOPE, Triager
from qa.settings import DOCUMENT_RERANKER_FILE, Settings
from qa.stage_clock import NULL_CLOCK, Clock
from qa.text import normalise_question

PREFERRED_TOPICS_FOR_CLINIC_SEEKING = ("red-flags", "regulation", "costs")
EXTRA_FOR_RELATED = 3  # hits ranked beyond the quotes, offered as follow-up prompts
MAX_HISTORY = 6  # earlier messages read; the API refuses more
UNSUPPORTED_LANGUAGE = "unsupported_language"
# Concept kinds whose names people spell out letter by letter (trial and regulator acronyms), so
# a speech recogniser never writes them as everyday words.
SPELT_OUT_KINDS = frozenset({"trial", "regulator"})


class TriagePolicy(Protocol):
    """What the engine needs of triage: a verdict from the message as typed, its embedding and
    the earlier messages of the conversation with theirs (an emergency can be split over two
    messages, or told in full in an earlier one)."""

    def decide(self, question: str, vector: np.ndarray, earlier: Sequence[str] = (),
               earlier_vectors: Sequence[np.ndarray | None] = ()) -> Triage: ...


@dataclass(frozen=True)
class Understanding:
    """A message as the engine reads it: `typed` (what triage judges), `earlier` (the
    conversation before it), `text` (what retrieval searches: a follow-up resolved and joined
    to the question it follows, spelling corrected) and `shown` (the same question as the reply
    shows it: "Answering: …")."""

    typed: str
    earlier: tuple[str, ...]
    text: str
    shown: str
    corrections: tuple[Correction, ...] = ()

    @property
    def understood_as(self) -> str | None:
        return self.shown if self.shown != self.typed else None


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
        self.concepts = table_for_library(settings.synonyms_file, index.vocabulary)
        self.retriever = HybridRetriever(
            index, self.concepts,
            RetrievalParams(**{name: getattr(settings, name)
                               for name in RetrievalParams.__dataclass_fields__}),
            DocumentReranker.from_file(DOCUMENT_RERANKER_FILE, index.embeddings.shape[1])
            if settings.document_reranker
            else None)
        self.speller = Speller(index.vocabulary,
                               (term for group in self.concepts.groups for term in group.terms),
                               sound_alikes=self.concepts.sound_alikes,
                               drug_names=index.drug_names,
                               pairs=index.word_pairs,
                               spoken_names=(term for group in self.concepts.groups
                                             if group.kind not in SPELT_OUT_KINDS
                                             for term in group.terms))
        # One vector per concept (all its names together), stored by the build: abstention
        # compares a passage BM25 found through a concept's other names with it.
        self._concept_vectors = concept_vectors(self.concepts, index.concept_vectors, embedder)
        self.triage = triage
        self.policy = policy or DisclaimerPolicy.from_settings(settings)
        # Whole answers of recent questions, keyed by the normalised text. The cache lives and
        # dies with this engine, so a hot-swapped index never serves an answer from the old one.
        # In memory only: questions are never written anywhere.
        self.answers: BoundedLRU[Answer] = BoundedLRU(settings.answer_cache_size)
        # Embeddings of recent messages as typed, so the earlier messages of a chat, which
        # triage reads again on every turn, were usually encoded on their own turn and cost
        # nothing now. In memory only, like the answers, and emptied with them.
        self.message_vectors: BoundedLRU[np.ndarray] = BoundedLRU(settings.answer_cache_size)

    @classmethod
    def from_settings(cls, settings: Settings, embedder: Embedder | None = None,
                      index: LoadedIndex | None = None) -> QAEngine:
        """Load the verified index, the configured model (never downloading anything) and the
        triage rules — everything a hot swap replaces together."""
        index = index or load_index(settings.index_dir, expected_model=settings.model)
        embedder = embedder or embedder_from_settings(settings)
        engine = cls(index, embedder, settings)
        engine.triage = Triager.from_settings(settings, engine.speller.is_known, embedder)
        return engine

    def reloaded(self, index: LoadedIndex) -> QAEngine:
        """An engine on `index` with this one's model and settings, and its triage read again
        from the files (an engine made without triage stays without)."""
        if isinstance(self.triage, Triager):
            return QAEngine.from_settings(self.settings, embedder=self.embedder, index=index)
        return QAEngine(index, self.embedder, self.settings, triage=self.triage,
                        policy=self.policy)

    def understand(self, question: object, history: Sequence[object] = (),
                   as_typed: bool = False) -> Understanding:
        """Normalise the message and the earlier ones; unless `as_typed`, resolve a follow-up
        and correct confident misspellings for retrieval (never for triage)."""
        limit = self.settings.max_question_chars
        typed = normalise_question(question, limit)
        earlier = tuple(_earlier_message(number, h, limit)
                        for number, h in enumerate(history, start=1))[-MAX_HISTORY:]
        if as_typed:
            return Understanding(typed, earlier, typed, typed)
        resolution = resolve(typed, earlier, self.concepts)
        read = resolution.understood_as or typed
        shown, corrections = self.speller.correct(read)
        # Usually retrieval reads what the reply shows; correct twice only when it does not.
        text = shown if resolution.text == read else self.speller.correct(resolution.text)[0]
        return Understanding(typed, earlier, text, shown, tuple(corrections))

    def query(self, question: str, history: Sequence[str] = ()) -> Query:
        understanding = self.understand(question, history)
        return self._query(understanding.text,
                           self.embedder.encode([self._dense_text(understanding.text)])[0])

    def search(self, question: str, k: int | None = None, prefer_topics: tuple[str, ...] = (),
               history: Sequence[str] = ()) -> list[Hit]:
        """Retrieval only (no triage, no abstention): used by `qa search` and evaluation."""
        return self.retriever.search(self.query(question, history), k or self.settings.top_k,
                                     prefer_topics)

    def rank_documents(self, question: str, k: int = 10,
                       history: Sequence[str] = ()) -> list[tuple[str, float]]:
        """Document-level ranking (a document scores as its best passage), for batch evaluation."""
        ranked: dict[str, float] = {}
        for hit in self.retriever.candidates(self.query(question, history)):
            if hit.passage.document_id not in ranked:
                ranked[hit.passage.document_id] = hit.fused
                if len(ranked) >= k:
                    break
        return list(ranked.items())

    def ask(self, question: object, history: Sequence[object] = (), as_typed: bool = False,
            clock: Clock = NULL_CLOCK) -> Answer:
        """The reply to a message, given the earlier user messages of the conversation (oldest
        first); `as_typed` answers the message exactly as typed. `clock` is told as each stage
        (`qa.stage_clock.STAGES`) ends. A repeated message is served from the answer cache."""
        started = time.perf_counter()
        understanding = self.understand(question, history, as_typed)
        clock.lap("normalise")
        key = "\x1f".join((*understanding.earlier, understanding.typed, "typed" if as_typed else ""))
        cached = self.answers.get(key)
        if cached is not None:
            clock.lap("cache")
            return replace(cached, took_ms=(time.perf_counter() - started) * 1000)
        answer = self._answer(understanding, started, clock)
        self.answers.put(key, answer)
        return answer

    def _answer(self, understanding: Understanding, started: float, clock: Clock) -> Answer:
        typed, text = understanding.typed, understanding.text
        # One model call: the message as typed (triage), and in the same batch what retrieval
        # reads when that differs (a follow-up resolved, a spelling corrected, a brand in the
        # library's words) and any earlier message whose vector is not at hand.
        dense_text = self._dense_text(text)
        earlier = understanding.earlier
        # Only triage reads the earlier messages: an engine without it encodes none of them.
        known = {m: self.message_vectors.get(m) for m in earlier} if self.triage else {}
        unknown = [m for m, vector in known.items() if vector is None]
        batch = [typed] + ([dense_text] if dense_text != typed else []) + unknown
        vectors = self.embedder.encode(batch)
        query = self._query(text, vectors[len(batch) - len(unknown) - 1])
        clock.lap("embed")
        known.update(zip(unknown, vectors[len(batch) - len(unknown):]))
        earlier_vectors = [known.get(m) for m in earlier]
        self.message_vectors.put(typed, vectors[0])
        triage, dense_ranking, lexical_ranking = self.retriever.rankings(
            query, lambda: self._triage(typed, vectors[0], earlier, earlier_vectors))
        clock.lap("rankings")

        def reply(kind: AnswerKind, message: str, quotes: Sequence[Quote] = (),
                  related: Sequence[str] = (), read: Understanding = understanding) -> Answer:
            answer = Answer(
                kind=kind, message=message, quotes=tuple(quotes),
                disclaimers=tuple(self.policy.disclaimers(kind, triage, quotes)),
                flags=triage.flags, related=tuple(related), triage=triage,
                took_ms=(time.perf_counter() - started) * 1000,
                understood_as=read.understood_as,
                corrections=read.corrections,
                concepts=tuple(sorted({m.concept for m in self.concepts.mentions(read.text)})))
            clock.lap("compose")
            return answer

        language = next((t.split(":", 1)[1] for t in triage.tags if t.startswith("language:")),
                        "")
        if UNSUPPORTED_LANGUAGE in triage.flags:
            # Another language: a reply in it (the library is English), numbers first. The
            # English speller and follow-up rules mean nothing here, so the reply claims no
            # reading of the message ("Showing results for made, cure" for "madre, cura").
            return reply("no_answer", self.policy.other_language_message(language),
                         read=Understanding(typed, understanding.earlier, typed, typed))
        if triage.category == "emergency":
            return reply("emergency", self.policy.emergency_message(triage))
        clinic_seeking = "unproven_clinic" in triage.flags
        prefer = PREFERRED_TOPICS_FOR_CLINIC_SEEKING if clinic_seeking else ()
        top_k = self.settings.top_k
        # The quotes follow the document reranker; whether the library answers at all is
        # judged on the hits in fused order (`HybridRetriever.answer_hits` says why).
        hits, judged = self.retriever.answer_hits(query.vector, dense_ranking, lexical_ranking,
                                                  top_k + EXTRA_FOR_RELATED, prefer)
        clock.lap("fusion")
        evidence = self.evidence(judged, query, lexical_ranking)
        if triage.category == "out_of_scope":
            # The classifier misreads some technical in-scope questions ("CD34 selection of the
            # graft") as off topic; a library with strong passages for them answers instead —
            # unless the classifier is sure: a game's "stem cell" item finds the same passages.
            if evidence < self.settings.out_of_scope_max_evidence:
                return reply("out_of_scope", self.policy.scope_message())
            if triage.off_topic >= self.settings.out_of_scope_sure:
                triage = replace(triage, reason=(
                    f"{triage.reason}; kept out of scope: the classifier is sure "
                    f"({triage.off_topic:.2f}), though the library's evidence is {evidence:.2f}"))
                return reply("out_of_scope", self.policy.scope_message())
            triage = replace(triage, category="general", reason=(
                f"{triage.reason}; answered: the library's evidence {evidence:.2f} reaches "
                f"{self.settings.out_of_scope_max_evidence:.2f}"))
        elif LEANS_OUT_OF_SCOPE in triage.tags and not triage.flags \
                and evidence < self.settings.min_score and not self.concepts.mentions(typed):
            # Off topic more likely than anything else and nothing in the library: say what the
            # library covers rather than "rephrase your question".
            triage = replace(triage, category="out_of_scope", reason=(
                f"{triage.reason}; out_of_scope: the library's evidence {evidence:.2f} is under "
                f"{self.settings.min_score:.2f}"))
            return reply("out_of_scope", self.policy.scope_message())
        answer_message = self.policy.urgent_message(triage) if "emergency" in triage.flags \
            else self.policy.answer_message()
        # Someone looking for a clinic should read the red flags, costs and regulation passages
        # whatever their wording: for them the only reason to abstain is a library without any.
        relevant = any(set(prefer) & set(h.passage.topics) for h in hits) if clinic_seeking \
            else evidence >= self.settings.min_score
        if not relevant:
            message = self.policy.no_answer_message()
            if "emergency" in triage.flags:
                message = f"{self.policy.urgent_message(triage)} {message}"
            return reply("no_answer", message)
        shown, rest = hits[:top_k], hits[top_k:]
        quotes = compose_quotes(shown, terms(query.expanded))
        return reply("answer", answer_message, quotes, related_prompts(shown, rest))

    def known_concepts(self, names: Sequence[str]) -> list[str]:
        """The names that are concepts of the table (anything else a client sends is dropped)."""
        known = {group.concept for group in self.concepts.groups}
        return [name for name in names if name in known]

    def _dense_text(self, text: str) -> str:
        """What the model encodes for retrieval: the text in the library's words."""
        return self.concepts.in_library_words(text, self._library_count)

    def _library_count(self, words: str) -> int:
        return library_count(self.index.vocabulary, words)

    def _triage(self, typed: str, vector: np.ndarray, earlier: Sequence[str],
                earlier_vectors: Sequence[np.ndarray | None]) -> Triage:
        return self.triage.decide(typed, vector, earlier, earlier_vectors) if self.triage \
            else Triage()

    def _query(self, text: str, vector: np.ndarray) -> Query:
        """The retrieval query: the text (its expansions go to BM25), the vector of the text in
        the library's words (`SynonymTable.in_library_words`), and the concepts named in words
        the library never uses ("Lemtrada" where it says "alemtuzumab", an acronym it only
        spells out), whose vectors let abstention see a passage BM25 found through them. An
        acronym the library writes in passing ("MG") is read in its usual words by the model
        but judged by plain similarity here: counting it as unused too let everyday messages
        ("our RA", "Amun-Ra") pass the evidence bar (docs/design.md)."""
        named = tuple(self._concept_vectors[m.concept] for m in self.concepts.mentions(text)
                      if m.concept in self._concept_vectors
                      and not self._library_count(m.surface))
        return self.retriever.query(text, vector, named)

    def evidence(self, hits: list[Hit], query: Query, lexical: list[tuple[int, float]]) -> float:
        """What abstention compares with QA_MIN_SCORE: the best cosine similarity of a hit to the
        question — or, for a hit BM25 found through the expansion of a concept the question
        names in words the library never uses, its similarity to that concept, so a strong
        lexical match on an expanded term is not discarded."""
        strength = evidence_strength(hits)
        if query.concepts and strength < self.settings.min_score:
            found = {row for row, _ in lexical}
            strength = max([strength] + [self.retriever.concept_similarity(h.row, query)
                                         for h in hits if h.row in found])
        return strength


def _earlier_message(number: int, message: object, limit: int) -> str:
    try:
        return normalise_question(message, limit)
    except InvalidQuestion as exc:
        raise InvalidQuestion(f"history message {number}: {exc}") from exc


def evidence_strength(hits: list[Hit]) -> float:
    """What abstention compares with QA_MIN_SCORE (and what calibration measures): the best
    cosine similarity among the retrieved passages."""
    return max((h.similarity for h in hits), default=-1.0)
