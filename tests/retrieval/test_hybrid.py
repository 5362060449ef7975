"""Hybrid retrieval: fusion, diversity caps, de-duplication, synonyms, preferred topics."""

import numpy as np

from qa.answering.highlight import highlight, terms
from qa.retrieval.hybrid import HybridRetriever, RetrievalParams
from qa.settings import PACKAGE_DATA
from qa.retrieval.synonyms import SynonymTable

SYNONYMS = SynonymTable.from_file(PACKAGE_DATA / "synonyms.yaml")


def test_synonyms_expand_acronyms_and_spellings():
    expanded = SYNONYMS.expand("Is aHSCT safe for MS?").lower()
    assert "autologous haematopoietic stem cell transplantation" in expanded
    assert "multiple sclerosis" in expanded
    assert "mobilization" in SYNONYMS.expand("what is mobilisation").lower()
    assert "crohn's disease" in SYNONYMS.expand("CD flare").lower()
    assert "crohn" not in SYNONYMS.expand("CD34 cells").lower()


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


def test_synonym_expansion_matches_whole_words_only_and_skips_empty_groups():
    table = SynonymTable([[], ["hsct", "stem cell transplant"], ["  "], ["ms", "multiple sclerosis"]])
    assert table.expand("Is HSCT used in MS?") == \
        "Is HSCT used in MS? stem cell transplant multiple sclerosis"
    # Substrings inside other words are not matches: "ms" in "symptoms", "hsct" in "hsct-like".
    assert table.expand("symptoms of hsct-like care") == "symptoms of hsct-like care"
    assert SynonymTable([]).expand("Is HSCT used?") == "Is HSCT used?"
    assert SynonymTable([["  "]]).expand("Is HSCT used?") == "Is HSCT used?"
    # A variant in two groups brings in both groups, in table order.
    shared = SynonymTable([["cd", "crohn's disease"], ["cd", "cluster of differentiation"]])
    assert shared.expand("CD") == "CD crohn's disease cluster of differentiation"


def test_synonym_expansion_is_unchanged_on_the_gold_questions():
    """The substring first test only skips groups whose regex could not match."""
    from qa.evaluation import read_gold
    from tests.conftest import ROOT

    def by_regex_only(question: str) -> str:
        lowered = question.lower().replace("\u2019", "'")
        extra = [v for group, pattern in zip(SYNONYMS._groups, SYNONYMS._patterns)
                 if pattern.search(lowered) for v in group if v not in lowered]
        return question if not extra else question + " " + " ".join(extra)

    questions = [g.question for g in read_gold(ROOT / "eval" / "gold")]
    assert len(questions) > 100
    expanded = [SYNONYMS.expand(q) for q in questions]
    assert expanded == [by_regex_only(q) for q in questions]
    assert sum(e != q for e, q in zip(expanded, questions)) > 50  # many questions do expand
