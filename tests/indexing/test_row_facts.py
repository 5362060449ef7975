"""Per-row facts are written with the index, loaded mapped, and spare the retriever a full pass."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qa.indexing.build import run_build
from qa.errors import IndexLoadError
from qa.indexing.layout import MANIFEST, _file_table, current_build, load_index
from qa.indexing.passages import PassageStore
from qa.retrieval.hybrid import HybridRetriever, RetrievalParams
from qa.indexing.row_facts import FILES, ROW_DOCUMENTS, RowFacts
from qa.settings import PACKAGE_DATA
from qa.retrieval.synonyms import SynonymTable

SYNONYMS = SynonymTable.from_file(PACKAGE_DATA / "synonyms.yaml")
QUESTIONS = ("How are mesenchymal stromal cells given?", "what is apheresis",
             "clinic abroad costs", "G-CSF side effects")


@pytest.fixture
def built(fake_settings, fake_embedder):
    run_build(fake_settings, embedder=fake_embedder)
    return fake_settings


def _rewrite_manifest(build) -> None:
    """Make the manifest's file table describe the build as it now is (as an older version or
    a deliberate edit would leave it), so only the row facts themselves are under test."""
    manifest = json.loads((build / MANIFEST).read_text())
    manifest["files"] = {name: entry for name, entry in _file_table(build).items()
                         if name != MANIFEST}
    (build / MANIFEST).write_text(json.dumps(manifest))


def _hits(index, embedder) -> list[list[tuple[int, float]]]:
    retriever = HybridRetriever(index, SYNONYMS, RetrievalParams(unreviewed_weight=0.5))
    return [[(h.row, round(h.fused, 9)) for h in
             retriever.search(retriever.query(q, embedder.encode([q])[0]), 6,
                              prefer_topics=("msc",))]
            for q in QUESTIONS]


def test_build_stores_the_facts_of_every_row_and_loading_maps_them(built):
    index = load_index(built.index_dir)
    facts = index.row_facts
    assert facts is not None and len(facts) == len(index.passages)
    expected = RowFacts.of(index.passages, len(index.passages))
    assert np.array_equal(facts.documents, expected.documents)
    assert np.array_equal(facts.reviewed, expected.reviewed)
    assert {t: r.tolist() for t, r in facts.topics.items()} == \
        {t: r.tolist() for t, r in expected.topics.items()}
    assert isinstance(facts.documents, np.memmap) and isinstance(facts.reviewed, np.memmap)
    # The fixture has topics, and reviewed as well as undated documents.
    assert facts.topics and facts.reviewed.any() and not facts.reviewed.all()


def test_retriever_reads_stored_facts_without_decoding_every_passage(built, monkeypatch):
    index = load_index(built.index_dir)

    def no_full_pass(self):
        raise AssertionError("the retriever walked every passage")

    monkeypatch.setattr(PassageStore, "__iter__", no_full_pass)
    HybridRetriever(index, SYNONYMS, RetrievalParams())


def test_a_build_without_stored_facts_is_refused_with_one_line(built, fake_embedder):
    assert any(_hits(load_index(built.index_dir), fake_embedder))
    build = current_build(built.index_dir)
    for name in FILES:
        (build / name).unlink()
    _rewrite_manifest(build)
    with pytest.raises(IndexLoadError, match="rebuild"):
        load_index(built.index_dir)


def test_facts_that_do_not_match_the_passages_are_refused(built):
    build = current_build(built.index_dir)
    np.save(build / ROW_DOCUMENTS, np.zeros(3, dtype=np.int32))  # too few rows
    _rewrite_manifest(build)
    with pytest.raises(IndexLoadError, match="inconsistent"):
        load_index(built.index_dir)


def test_the_provenance_prior_weighs_exactly_the_undated_rows(built, fake_embedder):
    index = load_index(built.index_dir)
    question = QUESTIONS[0]
    vector = fake_embedder.encode([question])[0]
    plain = HybridRetriever(index, SYNONYMS, RetrievalParams(unreviewed_weight=1.0))
    prior = HybridRetriever(index, SYNONYMS, RetrievalParams(unreviewed_weight=0.5))
    query = plain.query(question, vector)
    before = {h.row: h.fused for h in plain.candidates(query)}
    after = {h.row: h.fused for h in prior.candidates(query)}
    assert before.keys() == after.keys()
    for row, score in before.items():
        factor = 1.0 if index.passages[row].reviewed else 0.5
        assert after[row] == pytest.approx(score * factor)
    assert {bool(index.passages[r].reviewed) for r in before} == {True, False}
