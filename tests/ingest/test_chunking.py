"""Chunking: sections from headings, whole sentences only, bounded size, overlap, no boilerplate."""

from pathlib import Path

import pytest

from qa.ingest.chunking import BoilerplateFilter, ChunkingConfig, chunk_document, sentence_spans
from qa.ingest.readers import load_corpus
from qa.domain import Block, Document
from qa.settings import PACKAGE_DATA
from tests.conftest import FIXTURE_CORPUS, SAMPLE_ARTICLE

FILTER = BoilerplateFilter.from_file(PACKAGE_DATA / "boilerplate.yaml")


def long_doc(sentences: int = 40) -> Document:
    text = " ".join(f"Sentence number {i} talks about haematopoietic stem cells and lupus care."
                    for i in range(sentences))
    return Document(id="long", title="Long", text=text, path="long.txt",
                    blocks=(Block(0, len(text), "Section A"),))


def test_passages_are_exact_slices_with_offsets():
    for doc in load_corpus([FIXTURE_CORPUS]).documents:
        passages, _ = chunk_document(doc, ChunkingConfig(), FILTER)
        assert passages
        for p in passages:
            assert doc.text[p.start:p.end] == p.text
            assert p.document_id == doc.id and p.title == doc.title


def test_sections_follow_headings():
    doc = next(d for d in load_corpus([FIXTURE_CORPUS]).documents if d.id == "apheresis-test")
    passages, _ = chunk_document(doc, ChunkingConfig(), FILTER)
    assert [p.section for p in passages] == ["What apheresis is", "Mobilisation before apheresis"]


def test_long_sections_split_on_sentence_boundaries_within_bounds():
    doc = long_doc()
    passages, _ = chunk_document(doc, ChunkingConfig(60, 200, 1), FILTER)
    boundaries = {a for a, _ in sentence_spans(doc.text)} | {b for _, b in sentence_spans(doc.text)}
    assert len(passages) > 1
    for p in passages:
        assert p.start in boundaries and p.end in boundaries
        assert 60 <= len(p.text.split()) <= 200
        for a, b in p.sentences:
            assert p.text[a:b].startswith("Sentence number")


def test_consecutive_passages_overlap_by_one_sentence():
    passages, _ = chunk_document(long_doc(), ChunkingConfig(60, 200, 1), FILTER)
    for first, second in zip(passages, passages[1:]):
        last = first.text[first.sentences[-1][0]:first.sentences[-1][1]]
        assert second.text.startswith(last)


def test_calls_to_action_are_dropped_and_counted():
    text = ("Stem cells are studied in lupus. Book a free consultation with our team today. "
            "Mesenchymal cells calm inflammation.\n\nSubscribe to our newsletter for updates.")
    doc = Document(id="d", title="T", text=text, path="d.txt",
                   blocks=(Block(0, text.index("\n\n"), "T"), Block(text.index("Subscribe"), len(text), "T")))
    passages, dropped = chunk_document(doc, ChunkingConfig(), FILTER)
    assert dropped == 2
    joined = " ".join(p.text for p in passages)
    assert "consultation" not in joined and "newsletter" not in joined
    assert [p.text for p in passages] == ["Stem cells are studied in lupus.",
                                          "Mesenchymal cells calm inflammation."]


@pytest.mark.skipif(not SAMPLE_ARTICLE.exists(), reason="../shared sample data is absent")
def test_sample_article_call_to_action_never_becomes_or_ends_a_passage():
    doc = next(d for d in load_corpus([SAMPLE_ARTICLE]).documents)
    last_line = doc.text.strip().splitlines()[-1].strip()
    passages, dropped = chunk_document(doc, ChunkingConfig(), FILTER)
    assert dropped >= 1 and passages
    for p in passages:
        assert last_line not in p.text
        assert "webpage" not in p.text and "make contact with us" not in p.text
    assert not passages[-1].text.endswith(last_line)


def test_boilerplate_patterns_are_operator_editable(tmp_path: Path):
    custom = tmp_path / "bp.yaml"
    custom.write_text("patterns:\n  - 'ask about our miracle package'\n")
    text = "MSCs are experimental. Ask about our miracle package! Trials continue."
    doc = Document(id="d", title="T", text=text, path="d", blocks=(Block(0, len(text), "T"),))
    passages, dropped = chunk_document(doc, ChunkingConfig(), BoilerplateFilter.from_file(custom))
    assert dropped == 1 and all("miracle" not in p.text for p in passages)
