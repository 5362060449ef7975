"""The document reranker and the document classifier it reads: their features, the order, their
files, and how the retriever uses them (each top document's best passage first, in the
reranker's order)."""

import json

import numpy as np
import pytest

from qa.errors import ConfigError
from qa.retrieval.document_classifier import DocumentClassifier
from qa.retrieval.document_reranker import (FEATURES, PROBABILITY_FLOOR, UNRANKED,
                                            DocumentReranker, document_table)
from qa.retrieval.hybrid import HybridRetriever, RetrievalParams
from qa.settings import DOCUMENT_RERANKER_FILE, PACKAGE_DATA
from qa.retrieval.synonyms import SynonymTable
from bench.document_reranker import FRESH, READ
from tests.fakes import damaged_file

SYNONYMS = SynonymTable.from_file(PACKAGE_DATA / "synonyms.yaml")
CLASSIFIER_FILE = PACKAGE_DATA / "document_classifier.npz"
FRESH_AND_GOLD = FRESH | {"gold"}


def uniform_classifier(documents=("a", "b"), dimension=256) -> DocumentClassifier:
    """Every document equally likely (256: the fake model's vectors)."""
    return DocumentClassifier(tuple(documents), np.zeros((len(documents), dimension)),
                              np.zeros(len(documents)))


def reranker(weights: np.ndarray) -> DocumentReranker:
    return DocumentReranker(weights, 0.0, frozenset(), 10, uniform_classifier())


def test_the_table_has_one_row_per_document_in_order_of_first_appearance():
    # Five candidates in fused order: documents 7, 3, 7, 9 (the reference document), 5.
    numbers = np.array([7, 3, 7, 9, 5])
    fused = np.array([0.05, 0.04, 0.03, 0.02, 0.01])
    similarity = np.array([0.40, 0.70, 0.50, 0.30, 0.90])
    dense = np.array([3, UNRANKED, 1, 0, 4])
    lexical = np.array([UNRANKED, 0, 2, UNRANKED, 1])
    cards = {7: 0.2, 3: 0.6, 9: 0.1, 5: 0.9}
    probability = {7: 0.1, 3: 0.6, 9: 0.0, 5: 0.3}
    positions, table = document_table(
        numbers, fused, similarity, dense, lexical,
        lambda p: np.array([cards[n] for n in numbers[p]]), lambda p: numbers[p] == 9,
        lambda p: np.array([probability[n] for n in numbers[p]]), top=3)
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
    assert feature["classifier probability"].tolist() == pytest.approx([0.1, 0.6, 0.0])
    assert feature["log classifier probability"].tolist() == pytest.approx(
        np.log(np.array([0.1, 0.6, 0.0]) + PROBABILITY_FLOOR).tolist())
    assert feature["classifier probability - best"].tolist() == pytest.approx([-0.5, 0.0, -0.6])


def test_no_candidates_make_an_empty_table():
    empty = np.array([])
    positions, table = document_table(empty, empty, empty, empty, empty, lambda p: p,
                                      lambda p: p, lambda p: p, top=10)
    assert len(positions) == 0 and table.shape == (0, len(FEATURES))


def test_order_is_by_score_and_ties_keep_the_given_order():
    weights = np.zeros(len(FEATURES))
    weights[FEATURES.index("best cosine")] = 1.0
    table = np.zeros((3, len(FEATURES)))
    table[:, FEATURES.index("best cosine")] = [0.2, 0.9, 0.2]
    assert reranker(weights).order(table).tolist() == [1, 0, 2]


def test_the_shipped_weights_load_and_name_what_they_were_fitted_on():
    shipped = DocumentReranker.from_file(DOCUMENT_RERANKER_FILE, 384)
    stored = json.loads(DOCUMENT_RERANKER_FILE.read_text(encoding="utf-8"))
    assert shipped.weights.shape == (len(FEATURES),) and shipped.top >= 3
    # Fitted only on batches already read: never on the fresh ones nor the gold set.
    assert not FRESH_AND_GOLD & set(stored["trained_on"])
    assert set(stored["trained_on"]) <= READ
    assert not FRESH_AND_GOLD & set(shipped.classifier.meta["trained_on"])
    assert shipped.classifier.meta["trained_on"] == stored["trained_on"]


def test_the_shipped_classifier_knows_every_document_of_the_library():
    # A document it does not know only gets the uniform probability, so a new document must
    # come with a refit (`python bench/document_reranker.py --write`): this catches a forgotten one.
    from qa.ingest.readers import load_corpus
    from tests.conftest import REAL_CORPUS

    classifier = DocumentClassifier.from_file(CLASSIFIER_FILE)
    assert set(classifier.documents) == {d.id for d in load_corpus([REAL_CORPUS]).documents}


def test_classifier_probabilities_sum_to_one_and_an_unknown_document_gets_the_uniform_one():
    weights = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    classifier = DocumentClassifier(("a", "b", "c"), weights, np.zeros(3))
    p = classifier.probabilities(np.array([2.0, 0.0]), ["a", "b", "c", "new"])
    assert p[:3].sum() == pytest.approx(1.0)
    assert p[0] > p[1] == pytest.approx(p[2])
    assert p[3] == pytest.approx(1 / 3)


def test_the_classifier_file_round_trips(tmp_path):
    classifier = DocumentClassifier(("a", "b"), np.array([[0.5, -1.0], [2.0, 0.25]]),
                                    np.array([0.1, -0.1]), {"trained_on": ["x"]})
    classifier.save(tmp_path / "c.npz")
    again = DocumentClassifier.from_file(tmp_path / "c.npz", 2)
    vector = np.array([0.3, 0.7])
    assert again.documents == ("a", "b") and again.meta == {"trained_on": ["x"]}
    assert again.probabilities(vector, ["a", "b"]) == pytest.approx(
        classifier.probabilities(vector, ["a", "b"]), abs=1e-6)


@pytest.mark.parametrize("damage", ["garbage", "missing", "dimension"])
def test_an_unusable_classifier_file_is_one_line(tmp_path, damage):
    # "dimension": a classifier for the fake model's 256-dimensional vectors, not the bundled 384
    path = damaged_file(tmp_path / "classifier.npz", damage, uniform_classifier().save)
    weights = tmp_path / "reranker.json"
    stored = json.loads(DOCUMENT_RERANKER_FILE.read_text(encoding="utf-8"))
    weights.write_text(json.dumps({**stored, "classifier": path.name}))
    with pytest.raises(ConfigError) as error:
        DocumentReranker.from_file(weights, 384)
    assert "\n" not in str(error.value) and "document_reranker.py" in str(error.value)


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
    reranked = HybridRetriever(fake_engine.index, SYNONYMS, RetrievalParams(), reranker(weights))
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
    reranked = HybridRetriever(fake_engine.index, SYNONYMS, RetrievalParams(), reranker(weights))
    quoted, judged = reranked.answer_hits(query.vector, dense, lexical, 6)
    plain = HybridRetriever(fake_engine.index, SYNONYMS, RetrievalParams())
    assert [h.row for h in judged] == [h.row for h in plain.fuse(query.vector, dense, lexical, 6)]
    assert [h.row for h in quoted] == [h.row for h in reranked.fuse(query.vector, dense, lexical, 6)]
    assert [h.row for h in quoted] != [h.row for h in judged]


def test_the_setting_turns_the_reranker_off(fake_index_dir, fake_settings, fake_embedder):
    from qa.engine import QAEngine
    from qa.indexing.layout import load_index

    index = load_index(fake_index_dir, expected_model=fake_settings.model)
    off = fake_settings.model_copy(update={"index_dir": fake_index_dir,
                                           "document_reranker": False})
    assert QAEngine(index, fake_embedder, off).retriever.reranker is None


def test_a_classifier_for_another_model_stops_start_up_with_one_line(
        fake_index_dir, fake_settings, fake_embedder):
    # The fake model's vectors have another size than the bundled model's, which the shipped
    # classifier reads: the engine refuses to start rather than fail on the first question.
    from qa.engine import QAEngine
    from qa.indexing.layout import load_index

    index = load_index(fake_index_dir, expected_model=fake_settings.model)
    on = fake_settings.model_copy(update={"index_dir": fake_index_dir, "document_reranker": True})
    with pytest.raises(ConfigError) as error:
        QAEngine(index, fake_embedder, on)
    assert "\n" not in str(error.value) and "dimensional" in str(error.value)


@pytest.mark.model
def test_the_real_engine_reranks_with_the_shipped_classifier(real_engine):
    reranker_in_use = real_engine.retriever.reranker
    assert isinstance(reranker_in_use, DocumentReranker)
    query = real_engine.query("does blue cross pay for a stem cell transplant for ms")
    documents, table = real_engine.retriever.document_features(
        query, reranker_in_use.reference_documents, reranker_in_use.top)
    probability = table[:, FEATURES.index("classifier probability")]
    assert probability == pytest.approx(
        reranker_in_use.classifier.probabilities(query.vector, documents))
    assert 0 < probability.sum() <= 1
