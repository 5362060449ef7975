"""The engine: normalisation, answers with quotes, abstention, the JSON shape."""

import pytest

from qa.engine import QAEngine, normalise_question
from qa.errors import InvalidQuestion
from qa.indexing.layout import load_index


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
                         "triage", "took_ms"}
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
