"""The engine: normalisation, answers with quotes, abstention, the JSON shape."""

import numpy as np
import pytest

from qa.engine import QAEngine, normalise_question
from qa.errors import InvalidQuestion
from qa.indexing.layout import load_index
from tests.fakes import HashEmbedder


def test_normalisation_collapses_whitespace_and_controls():
    assert normalise_question("  what\x00 is\tMSC?\u200b \n", 1000) == "what is MSC?"
    assert normalise_question("ｆｕｌｌｗｉｄｔｈ", 1000) == "fullwidth"
    assert normalise_question("什么是干细胞", 1000) == "什么是干细胞"
    expanded = normalise_question("\ufdfa" * 100, 1000)  # one ligature → 18 characters under NFKC
    assert len(expanded) > 1000


@pytest.mark.parametrize("bad", ["", "   ", "\x00\x01", None, 42, "x" * 1001, "?!", "🧬🧬"])
def test_unusable_questions_are_refused(bad):
    with pytest.raises(InvalidQuestion):
        normalise_question(bad, 1000)


def test_answer_quotes_verbatim_passages_with_sources(fake_engine):
    answer = fake_engine.ask("How are mesenchymal stromal cells given?")
    assert answer.kind == "answer" and answer.quotes
    passages = {p.id: p for p in fake_engine.index.passages}
    for quote in answer.quotes:
        assert quote.text == passages[quote.passage_id].text
        assert quote.source.title and quote.source.section
        for start, end in quote.highlights:
            assert 0 <= start < end <= len(quote.text)
    assert answer.quotes[0].source.document_id == "msc-basics"
    assert answer.quotes[0].source.url == "https://example.org/msc"
    assert answer.quotes[0].source.reviewed == "2025-01-15"
    assert answer.disclaimers[0].code == "general"


def test_weak_evidence_abstains(fake_settings, fake_embedder):
    from qa.indexing.build import run_build

    run_build(fake_settings, embedder=fake_embedder)
    strict = fake_settings.model_copy(update={"min_score": 0.99})
    engine = QAEngine(load_index(fake_settings.index_dir), fake_embedder, strict)
    answer = engine.ask("How are mesenchymal stromal cells given?")
    assert answer.kind == "no_answer" and not answer.quotes
    assert "ClinicalTrials.gov" in answer.message
    assert answer.disclaimers and answer.disclaimers[0].code == "general"


def test_answer_json_has_the_documented_shape(fake_engine):
    data = fake_engine.ask("what is apheresis").to_json()
    assert set(data) == {"kind", "message", "quotes", "disclaimers", "flags", "related",
                         "triage", "understood_as", "corrections", "concepts", "took_ms"}
    quote = data["quotes"][0]
    assert set(quote) == {"passage_id", "text", "highlights", "score", "source"}
    assert set(quote["source"]) == {"document_id", "title", "section", "url", "reviewed",
                                    "evidence"}
    assert all(isinstance(h, list) and len(h) == 2 for h in quote["highlights"])
    assert isinstance(data["took_ms"], float)


def test_rank_documents_is_document_level(fake_engine):
    neutral = fake_engine.settings.model_copy(update={"dense_weight": 1.0, "unreviewed_weight": 1.0})
    engine = QAEngine(fake_engine.index, fake_engine.embedder, neutral)
    ranking = engine.rank_documents("thyroid problems after transplant", k=10)
    documents = [doc for doc, _ in ranking]
    assert documents[0] == "jsonl-thyroid"
    assert len(documents) == len(set(documents))


# --- conversations, spelling, concepts (issue: what people really type) ---------------------------

class FixedTriage:
    def __init__(self, category: str, off_topic: float = 0.0) -> None:
        self.category = category
        self.off_topic = off_topic
        self.seen: list[tuple[str, tuple[str, ...]]] = []

    def decide(self, question, vector, earlier=(), earlier_vectors=()):
        from qa.domain import Triage

        self.seen.append((question, tuple(earlier)))
        flags = (self.category,) if self.category not in ("general", "out_of_scope") else ()
        return Triage(self.category, f"fixed: {self.category}", flags, off_topic=self.off_topic)


class RecordingTriage(FixedTriage):
    """Fixed triage that also records the earlier messages' vectors it was given."""

    def __init__(self) -> None:
        super().__init__("general")
        self.vectors: list[list] = []

    def decide(self, question, vector, earlier=(), earlier_vectors=()):
        self.vectors.append(list(earlier_vectors))
        return super().decide(question, vector, earlier, earlier_vectors)


def test_earlier_messages_reach_triage_with_their_vectors_in_one_model_call(fake_engine):
    triage = RecordingTriage()
    engine = QAEngine(fake_engine.index, HashEmbedder(), fake_engine.settings, triage=triage)
    engine.ask("What is apheresis?")
    calls, encoded = engine.embedder.calls, engine.embedder.encoded
    engine.ask("how long does mobilisation take?", history=["What is apheresis?"])
    # One call, and the earlier message was not encoded again: its vector is remembered.
    assert engine.embedder.calls == calls + 1 and engine.embedder.encoded == encoded + 1
    expected = engine.embedder.encode(["What is apheresis?"])[0]
    assert len(triage.vectors[-1]) == 1 and np.allclose(triage.vectors[-1][0], expected)
    fresh = QAEngine(fake_engine.index, HashEmbedder(), fake_engine.settings,
                     triage=RecordingTriage())
    calls, encoded = fresh.embedder.calls, fresh.embedder.encoded
    fresh.ask("how long does mobilisation take?", history=["What is apheresis?"])
    # A worker that never saw the earlier message encodes it in the same single call.
    assert fresh.embedder.calls == calls + 1 and fresh.embedder.encoded == encoded + 2
    assert np.allclose(fresh.triage.vectors[-1][0], expected)


def test_a_follow_up_is_answered_on_the_earlier_topic_and_says_how(fake_engine):
    alone = fake_engine.ask("how long does it take?")
    answer = fake_engine.ask("how long does it take?", history=["What is apheresis?"])
    assert answer.understood_as == "how long does apheresis take?"
    assert answer.quotes[0].source.document_id == "apheresis-test"
    assert alone.understood_as is None  # nothing earlier to inherit
    typed = fake_engine.ask("how long does it take?", history=["What is apheresis?"],
                            as_typed=True)
    assert typed.understood_as is None and typed.to_json()["understood_as"] is None


def test_triage_judges_the_message_as_typed_and_sees_the_earlier_ones(fake_engine):
    triage = FixedTriage("general")
    engine = QAEngine(fake_engine.index, fake_engine.embedder, fake_engine.settings, triage=triage)
    engine.ask("and the lupis risk?", history=["What is apheresis?"])
    assert triage.seen == [("and the lupis risk?", ("What is apheresis?",))]


def test_each_message_costs_one_model_call(fake_engine):
    from tests.fakes import HashEmbedder

    embedder = HashEmbedder()
    engine = QAEngine(fake_engine.index, embedder, fake_engine.settings)
    for question, history in (("what is apheresis", []),
                              ("how long does it take?", ["What is apheresis?"])):
        calls = embedder.calls
        engine.ask(question, history=history)
        assert embedder.calls == calls + 1


def test_misspellings_are_corrected_for_retrieval_and_reported(fake_engine):
    answer = fake_engine.ask("what is apheresys")
    assert [(c.typed, c.corrected) for c in answer.corrections] == [("apheresys", "apheresis")]
    assert answer.understood_as == "what is apheresis"
    assert answer.quotes[0].source.document_id == "apheresis-test"
    assert answer.to_json()["corrections"] == [{"from": "apheresys", "to": "apheresis"}]


def test_history_is_part_of_the_cache_key(fake_engine):
    first = fake_engine.ask("how long does it take?", history=["What is apheresis?"])
    other = fake_engine.ask("how long does it take?", history=["How are mesenchymal stromal "
                                                               "cells given?"])
    assert first.understood_as != other.understood_as


SPELLED_OUT = """---
id: spelled-out
title: Autologous haematopoietic stem cell transplantation
reviewed: 2026-11-01
---
## What autologous haematopoietic stem cell transplantation is
Autologous haematopoietic stem cell transplantation collects a person's own blood-forming stem
cells, gives chemotherapy to remove the faulty immune cells, and returns the stem cells so a new
immune system can grow.
"""
OTHER = """---
id: gardening
title: Growing tomatoes
reviewed: 2026-11-01
---
## Watering tomatoes
Tomatoes need regular watering and sunshine; a greenhouse helps in a cold spring.
"""


def _spelled_out_engine(tmp_path, embedder, **settings):
    from qa.indexing.build import run_build
    from tests.conftest import make_settings

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "spelled-out.md").write_text(SPELLED_OUT)
    (corpus / "gardening.md").write_text(OTHER)
    config = make_settings(tmp_path, corpus=[corpus], **settings)
    run_build(config, embedder=embedder)
    return QAEngine(load_index(config.index_dir), embedder, config)


def test_an_acronym_the_library_only_spells_out_still_answers(tmp_path, fake_embedder):
    engine = _spelled_out_engine(tmp_path, fake_embedder, min_score=0.1)
    assert "ahsct" not in engine.index.vocabulary
    answer = engine.ask("what is aHSCT?")
    assert answer.kind == "answer"
    assert answer.quotes[0].source.document_id == "spelled-out"


def test_an_acronym_the_library_only_spells_out_still_answers_with_the_real_model(
        tmp_path, real_embedder):
    engine = _spelled_out_engine(tmp_path, real_embedder, model="bundled:all-MiniLM-L6-v2",
                                 min_score=0.35)
    answer = engine.ask("what is aHSCT?")
    assert answer.kind == "answer"
    assert answer.quotes[0].source.document_id == "spelled-out"


def test_clinic_seeking_gets_the_red_flag_passages_not_an_abstention(tmp_path, fake_embedder):
    from qa.indexing.build import run_build
    from tests.conftest import make_settings

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "flags.md").write_text(
        "---\nid: red-flags\ntitle: Warning signs of unproven clinics\nreviewed: 2026-11-01\n"
        "topics: [red-flags, regulation]\n---\n## Warning signs\nA clinic that promises cures, "
        "takes payment up front and offers treatment for many unrelated diseases shows the "
        "warning signs regulators describe.\n")
    (corpus / "tomatoes.md").write_text(OTHER)
    config = make_settings(tmp_path, corpus=[corpus], min_score=0.5)
    run_build(config, embedder=fake_embedder)
    index = load_index(config.index_dir)
    question = "how much does hsct cost in mexico"
    plain = QAEngine(index, fake_embedder, config, triage=FixedTriage("general"))
    assert plain.ask(question).kind == "no_answer"  # weak evidence for an ordinary question
    clinic = QAEngine(index, fake_embedder, config, triage=FixedTriage("unproven_clinic"))
    answer = clinic.ask(question)
    assert answer.kind == "answer" and answer.quotes[0].source.document_id == "red-flags"


class LeaningTriage:
    """Triage that reads every message as general but leaning off topic."""

    def decide(self, question, vector, earlier=(), earlier_vectors=()):
        from qa.domain import Triage
        from qa.safety.triage import LEANS_OUT_OF_SCOPE

        return Triage("general", "general: leaning", (), (LEANS_OUT_OF_SCOPE,))


def test_a_message_leaning_off_topic_is_out_of_scope_only_when_the_library_has_nothing(
        fake_engine):
    settings = fake_engine.settings.model_copy(update={"min_score": 0.25})
    engine = QAEngine(fake_engine.index, fake_engine.embedder, settings, triage=LeaningTriage())
    nothing = engine.ask("which tyres grip best on a wet motorway")
    assert nothing.kind == "out_of_scope" and nothing.triage.category == "out_of_scope"
    assert "evidence" in nothing.triage.reason
    found = engine.ask("What is apheresis?")  # the library's own subject: answered
    assert found.kind == "answer" and found.triage.category == "general"


def test_a_confident_off_topic_reading_is_answered_when_the_library_has_strong_passages(
        fake_engine):
    """The classifier misreads some technical in-scope questions as off topic; the library's
    evidence overrules it, and only it."""
    settings = fake_engine.settings.model_copy(update={"out_of_scope_max_evidence": 0.25})
    engine = QAEngine(fake_engine.index, fake_engine.embedder, settings,
                      triage=FixedTriage("out_of_scope"))
    answered = engine.ask("What is apheresis?")
    assert answered.kind == "answer" and answered.triage.category == "general"
    assert "evidence" in answered.triage.reason
    assert engine.ask("which tyres grip best on a wet motorway").kind == "out_of_scope"


def test_a_sure_off_topic_reading_stays_out_of_scope_whatever_the_library_has(fake_engine):
    """Topic words in another sense (a game's "stem cell" item) find strong passages too: a
    classifier at least QA_OUT_OF_SCOPE_SURE that the message is off topic is not overruled."""
    settings = fake_engine.settings.model_copy(update={"out_of_scope_max_evidence": 0.25,
                                                       "out_of_scope_sure": 0.9})
    sure = QAEngine(fake_engine.index, fake_engine.embedder, settings,
                    triage=FixedTriage("out_of_scope", off_topic=0.95))
    kept = sure.ask("What is apheresis?")
    assert kept.kind == "out_of_scope" and "classifier is sure" in kept.triage.reason
    unsure = QAEngine(fake_engine.index, fake_engine.embedder, settings,
                      triage=FixedTriage("out_of_scope", off_topic=0.85))
    assert unsure.ask("What is apheresis?").kind == "answer"


def test_the_speller_reads_real_words_from_the_pairs_the_index_stores(fake_engine):
    """The build stores the word pairs the library writes often, and the engine's speller reads
    "steam cell" by them: start-up reads the pairs, not every passage."""
    assert fake_engine.index.word_pairs[("stem", "cell")] >= 3
    assert all(count >= 3 for count in fake_engine.index.word_pairs.values())
    corrected, corrections = fake_engine.speller.correct("is steam cell therapy safe")
    assert corrected == "is stem cell therapy safe"
    assert [c.typed for c in corrections] == ["steam"]
