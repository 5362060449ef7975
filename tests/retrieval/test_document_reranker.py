"""The document reranker: its features, its order, its weights file, and how the retriever uses
it (each top document's best passage first, in the reranker's order)."""

import json

import numpy as np
import pytest

from qa.errors import ConfigError
from qa.retrieval.document_reranker import (FEATURES, UNRANKED, DocumentReranker,
                                            document_table)
from qa.retrieval.hybrid import HybridRetriever, RetrievalParams
from qa.settings import DOCUMENT_RERANKER_FILE, PACKAGE_DATA
from qa.retrieval.synonyms import SynonymTable

SYNONYMS = SynonymTable.from_file(PACKAGE_DATA / "synonyms.yaml")


def test_the_table_has_one_row_per_document_in_order_of_first_appearance():
    # Five candidates in fused order: documents 7, 3, 7, 9 (the reference document), 5.
    numbers = np.array([7, 3, 7, 9, 5])
    fused = np.array([0.05, 0.04, 0.03, 0.02, 0.01])
    similarity = np.array([0.40, 0.70, 0.50, 0.30, 0.90])
    dense = np.array([3, UNRANKED, 1, 0, 4])
    lexical = np.array([UNRANKED, 0, 2, UNRANKED, 1])
    cards = {7: 0.2, 3: 0.6, 9: 0.1, 5: 0.9}
    positions, table = document_table(
        numbers, fused, similarity, dense, lexical,
        lambda p: np.array([cards[n] for n in numbers[p]]), lambda p: numbers[p] == 9, top=3)
    assert positions.tolist() == [0, 1, 3]  # document 5 is past the top three
    feature = {name: table[:, i] for i, name in enumerate(FEATURES)}
    assert feature["reciprocal fused rank"].tolist() == pytest.approx([1.0, 0.5, 1 / 3])
    assert feature["fused / best fused"].tolist() == pytest.approx([1.0, 0.8, 0.4])
    assert feature["best cosine"].tolist() == pytest.approx([0.50, 0.70, 0.30])
    assert feature["best cosine - top cosine"].tolist() == pytest.approx([-0.20, 0.0, -0.40])
    assert feature["card cosine - best card"].tolist() == pytest.approx([-0.4, 0.0, -0.5])
    assert feature["log(1 + passages)"].tolist() == pytest.approx(np.log1p([2, 1, 1]).tolist())
    assert feature["reciprocal dense rank"].tolist() == pytest.approx([0.5, 1 / (1 + UNRANKED), 1.0])
    assert feature["reciprocal BM25 rank"].tolist() == pytest.approx([1 / 3, 1.0, 1 / (1 + UNRANKED)])
    assert feature["is a reference document"].tolist() == [0.0, 0.0, 1.0]


def test_no_candidates_make_an_empty_table():
    empty = np.array([])
    positions, table = document_table(empty, empty, empty, empty, empty, lambda p: p,
                                      lambda p: p, top=10)
    assert len(positions) == 0 and table.shape == (0, len(FEATURES))


def test_order_is_by_score_and_ties_keep_the_given_order():
    weights = np.zeros(len(FEATURES))
    weights[FEATURES.index("best cosine")] = 1.0
    reranker = DocumentReranker(weights, 0.0, frozenset(), 10)
    table = np.zeros((3, len(FEATURES)))
    table[:, FEATURES.index("best cosine")] = [0.2, 0.9, 0.2]
    assert reranker.order(table).tolist() == [1, 0, 2]


def test_the_shipped_weights_load_and_name_what_they_were_fitted_on():
    reranker = DocumentReranker.from_file(DOCUMENT_RERANKER_FILE)
    stored = json.loads(DOCUMENT_RERANKER_FILE.read_text(encoding="utf-8"))
    assert reranker.weights.shape == (len(FEATURES),) and reranker.top >= 3
    # Fitted only on batches already read: never on the fresh ones nor the gold set.
    assert not {"blind28", "blind29", "blind32", "gold"} & set(stored["trained_on"])


@pytest.mark.parametrize("content", ["{not json", '{"features": ["x"], "weights": [1], '
                                     '"intercept": 0, "top": 10}', '{"weights": []}'])
def test_an_unusable_weights_file_is_one_line(tmp_path, content):
    path = tmp_path / "reranker.json"
    path.write_text(content)
    with pytest.raises(ConfigError) as error:
        DocumentReranker.from_file(path)
    assert "\n" not in str(error.value) and "document_reranker.py" in str(error.value)


def test_the_retriever_puts_each_top_documents_best_passage_first_in_the_rerankers_order(
        fake_engine):
    query = fake_engine.query("stem cells for autoimmune disease")
    plain = HybridRetriever(fake_engine.index, SYNONYMS, RetrievalParams())
    fused = [h.passage.document_id for h in plain.candidates(query)]
    fused_documents = list(dict.fromkeys(fused))
    assert len(fused_documents) >= 3
    # Weights that rank by fused rank backwards: the last document in fused order comes first.
    weights = np.zeros(len(FEATURES))
    weights[FEATURES.index("reciprocal fused rank")] = -1.0
    reranked = HybridRetriever(fake_engine.index, SYNONYMS, RetrievalParams(),
                               DocumentReranker(weights, 0.0, frozenset(), 10))
    hits = reranked.candidates(query)
    documents = [h.passage.document_id for h in hits]
    top = fused_documents[:10]
    assert documents[:len(top)] == top[::-1]  # one passage from each, in the reranker's order
    assert sorted(h.row for h in hits) == sorted(h.row for h in plain.candidates(query))
    best = {}
    for hit in plain.candidates(query):
        best.setdefault(hit.passage.document_id, hit.row)
    assert [h.row for h in hits[:len(top)]] == [best[d] for d in top[::-1]]


def test_abstention_reads_the_fused_order_whatever_the_reranker_does(fake_engine):
    query = fake_engine.query("stem cells for autoimmune disease")
    _, dense, lexical = fake_engine.retriever.rankings(query, lambda: None)
    weights = np.zeros(len(FEATURES))
    weights[FEATURES.index("reciprocal fused rank")] = -1.0
    reranked = HybridRetriever(fake_engine.index, SYNONYMS, RetrievalParams(),
                               DocumentReranker(weights, 0.0, frozenset(), 10))
    quoted, judged = reranked.answer_hits(query.vector, dense, lexical, 6)
    plain = HybridRetriever(fake_engine.index, SYNONYMS, RetrievalParams())
    assert [h.row for h in judged] == [h.row for h in plain.fuse(query.vector, dense, lexical, 6)]
    assert [h.row for h in quoted] == [h.row for h in reranked.fuse(query.vector, dense, lexical, 6)]
    assert [h.row for h in quoted] != [h.row for h in judged]


def test_the_setting_turns_the_reranker_on_and_off(fake_index_dir, fake_settings, fake_embedder):
    from qa.engine import QAEngine
    from qa.indexing.layout import load_index

    index = load_index(fake_index_dir, expected_model=fake_settings.model)
    on = fake_settings.model_copy(update={"index_dir": fake_index_dir, "document_reranker": True})
    off = on.model_copy(update={"document_reranker": False})
    assert isinstance(QAEngine(index, fake_embedder, on).retriever.reranker, DocumentReranker)
    assert QAEngine(index, fake_embedder, off).retriever.reranker is None
