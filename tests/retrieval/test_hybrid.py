"""Hybrid retrieval: fusion, diversity caps, de-duplication, synonyms, preferred topics."""

import numpy as np

from qa.answering.highlight import highlight, terms
from qa.retrieval.hybrid import HybridRetriever, RetrievalParams
from qa.settings import PACKAGE_DATA
from qa.retrieval.synonyms import SynonymTable

SYNONYMS = SynonymTable.from_file(PACKAGE_DATA / "synonyms.yaml")


def test_question_finds_the_right_document(fake_engine):
    hits = fake_engine.search("What is apheresis and how long does it take?")
    assert hits[0].passage.document_id == "apheresis-test"


def test_lexical_side_uses_synonyms(fake_engine):
    rows = fake_engine.retriever.lexical(fake_engine.query("G-CSF"), 5)
    docs = {fake_engine.index.passages[r].document_id for r, _ in rows}
    assert "apheresis-test" in docs


def test_at_most_n_passages_per_document(fake_engine):
    retriever = HybridRetriever(fake_engine.index, SYNONYMS, RetrievalParams(max_per_document=1))
    hits = retriever.search(fake_engine.query("mesenchymal stromal cells"), k=5)
    documents = [h.passage.document_id for h in hits]
    assert len(documents) == len(set(documents))


def test_near_duplicates_are_collapsed(fake_engine):
    retriever = HybridRetriever(fake_engine.index, SYNONYMS,
                                RetrievalParams(max_per_document=5, dedup_similarity=0.0001))
    hits = retriever.search(fake_engine.query("stem cells"), k=5)
    assert len(hits) >= 1
    vectors = [np.asarray(fake_engine.index.embeddings[h.row]) for h in hits]
    for i in range(len(vectors)):
        for j in range(i + 1, len(vectors)):
            assert float(vectors[i] @ vectors[j]) < 0.0001


def test_every_candidate_carries_its_exact_similarity_across_blocks(fake_engine, monkeypatch):
    # Similarities are computed a block at a time; a tiny block makes every block boundary count.
    monkeypatch.setattr("qa.retrieval.hybrid.SIMILARITY_BLOCK", 3)
    question = "stem cell transplant for multiple sclerosis"
    query = fake_engine.query(question)
    vector = query.vector
    hits = fake_engine.retriever.candidates(query)
    assert len(hits) > 6
    vectors = np.asarray(fake_engine.index.embeddings)
    assert np.allclose([h.similarity for h in hits],
                       [float(vectors[h.row] @ vector) for h in hits], rtol=0, atol=1e-6)
    assert [h.fused for h in hits] == sorted((h.fused for h in hits), reverse=True)


def test_fusion_rewards_agreement(fake_engine):
    question = "granulocyte colony-stimulating factor mobilisation"
    query = fake_engine.query(question)
    vector = query.vector
    hits = fake_engine.retriever.candidates(query)
    assert hits == sorted(hits, key=lambda h: -h.fused)
    top = hits[0]
    dense_rows = [r for r, _ in fake_engine.retriever.dense(vector, 3)]
    lexical_rows = [r for r, _ in fake_engine.retriever.lexical(query, 3)]
    assert top.row in dense_rows and top.row in lexical_rows


def test_preferred_topics_come_first(fake_engine):
    question = "what is apheresis"
    hits = fake_engine.retriever.search(fake_engine.query(question), 3, prefer_topics=("msc",))
    assert "msc" in hits[0].passage.topics


def test_highlight_marks_the_best_matching_sentence(fake_engine):
    passage = next(p for p in fake_engine.index.passages if p.section == "How mesenchymal stromal cells are given")
    spans = highlight(passage, terms("are they trapped in the lungs?"))
    assert len(spans) == 1
    start, end = spans[0]
    assert "lungs" in passage.text[start:end]


def test_reviewed_documents_outrank_unreviewed_ones_at_equal_relevance(fake_engine):
    from qa.retrieval.hybrid import HybridRetriever, RetrievalParams

    unreviewed = [r for r, p in enumerate(fake_engine.index.passages) if not p.reviewed]
    assert unreviewed  # the fixture corpus has .txt, .html and .jsonl documents without a date
    question = "thyroid problems after transplant"
    query = fake_engine.query(question)
    neutral = HybridRetriever(fake_engine.index, SYNONYMS, RetrievalParams(unreviewed_weight=1.0))
    weighted = HybridRetriever(fake_engine.index, SYNONYMS, RetrievalParams(unreviewed_weight=0.5))
    before = {h.row: h.fused for h in neutral.candidates(query)}
    after = {h.row: h.fused for h in weighted.candidates(query)}
    for row, score in before.items():
        expected = score * (0.5 if row in unreviewed else 1.0)
        assert abs(after[row] - expected) < 1e-12


def test_the_engine_hands_the_retrieval_settings_to_the_retriever(fake_engine):
    from qa.engine import QAEngine

    settings = fake_engine.settings.model_copy(update={"dense_weight": 2.5, "max_per_document": 4,
                                                       "rrf_k": 17})
    params = QAEngine(fake_engine.index, fake_engine.embedder, settings).retriever.params
    assert (params.dense_weight, params.max_per_document, params.rrf_k) == (2.5, 4, 17)


def test_aspect_query_drops_the_conditions_and_treatments_named(fake_engine):
    query = fake_engine.query("How long is the hospital stay after aHSCT for MS?")
    assert "hospital" in query.aspect.split()
    assert not {"ahsct", "ms"} & set(query.aspect.split()[:8])  # the question's own words
    assert fake_engine.query("What is apheresis?").aspect == ""  # names no subject


def test_lexical_ranking_fuses_the_whole_question_with_its_aspect(fake_engine, monkeypatch):
    query = fake_engine.query("How long is the hospital stay after aHSCT for MS?")
    searched: list[str] = []

    def search(text: str, k: int) -> list[tuple[int, float]]:
        searched.append(text)
        return [(1, 9.0), (2, 8.0)] if text == query.expanded else [(3, 5.0), (2, 4.0)]

    monkeypatch.setattr(fake_engine.index.lexical, "search", search)
    rows = [row for row, _ in fake_engine.retriever.lexical(query, 5)]
    # Row 2 is second on the whole question and second on the aspect: agreement lifts it above
    # row 1; row 3, found only by the aspect, joins at its lower weight.
    assert searched == [query.expanded, query.aspect]
    assert rows == [2, 1, 3]


def test_the_document_whose_card_matches_the_question_is_lifted(fake_engine):
    """A document ranked first by its card gains on the others (a weight far above the default,
    so that on this five-document corpus the lift is the whole story); with the weight at 0
    the order is the passages' alone."""
    query = fake_engine.query("stem cells for autoimmune disease")
    neutral = {"unreviewed_weight": 1.0}  # the provenance prior would blur the comparison
    plain = HybridRetriever(fake_engine.index, SYNONYMS,
                            RetrievalParams(document_weight=0.0, **neutral))
    order = [h.row for h in plain.candidates(query)]
    facts = fake_engine.index.row_facts.documents
    last_document = int(facts[order[-1]])
    carded = HybridRetriever(fake_engine.index, SYNONYMS,
                             RetrievalParams(document_weight=1000.0, **neutral))
    cards = np.zeros_like(np.asarray(fake_engine.index.document_vectors))
    cards[last_document] = query.vector  # only the last candidate's document matches its card
    carded._cards = cards
    lifted = carded.candidates(query)
    assert int(facts[lifted[0].row]) == last_document
    assert int(facts[order[0]]) != last_document
