"""The BM25 query path (posting lists + MaxScore) must rank exactly as bm25s's own scoring does."""

from __future__ import annotations

import random

import numpy as np
import pytest

from qa.indexing import bm25 as lexical
from qa.indexing.bm25 import LexicalIndex

WORDS = ("stem cell transplant sclerosis lupus arthritis diabetes insulin crohn relapse trial "
         "marrow graft infection fever chemotherapy conditioning remission disability mobilisation "
         "apheresis neutropenia regulator clinic evidence cost risk recovery").split()


def _corpus(size: int, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    # Zipf-like: early words are common, late words rare, as in real text.
    weights = [1.0 / (rank + 1) for rank in range(len(WORDS))]
    return [" ".join(rng.choices(WORDS, weights, k=rng.randint(3, 30))) for _ in range(size)]


def _reference(index: LexicalIndex, query: str, k: int) -> list[tuple[int, float]]:
    """bm25s's dense scoring of every passage, ranked best first, lower row first on ties."""
    ids = index.query_ids(query)
    if not ids:
        return []
    scores = index._retriever.get_scores_from_ids(ids)
    order = np.lexsort((np.arange(len(scores)), -scores))[:k]
    return [(int(r), float(scores[r])) for r in order if scores[r] > 0]


def _queries(count: int, seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.sample(WORDS, rng.randint(1, 8))) for _ in range(count)]


@pytest.mark.parametrize("size", [300, 20_000])  # below and above the pruning threshold
def test_ranks_exactly_as_bm25s_scoring_every_passage(size):
    index = LexicalIndex.build(_corpus(size))
    assert (size > lexical.SMALL_INDEX) == (size == 20_000)
    for query in _queries(60):
        for k in (1, 10, 40):
            got, expected = index.search(query, k), _reference(index, query, k)
            assert [r for r, _ in got] == [r for r, _ in expected], (query, k)
            assert np.allclose([s for _, s in got], [s for _, s in expected], rtol=1e-5)


def test_ties_break_by_row_not_by_chance():
    # 50 identical passages all tie; the first k rows must come back, in order.
    index = LexicalIndex.build(["lupus nephritis"] * 50 + ["sclerosis"] * 10)
    assert [r for r, _ in index.search("lupus", 5)] == [0, 1, 2, 3, 4]


def test_unknown_words_and_stopwords_find_nothing():
    index = LexicalIndex.build(_corpus(200))
    assert index.search("the of and", 10) == []
    assert index.search("zzzqqq xylophone", 10) == []
    assert index.search("lupus", 0) == []


def test_fewer_matches_than_k_returns_only_matches():
    index = LexicalIndex.build(["lupus", "sclerosis", "lupus trial", "insulin"])
    assert sorted(r for r, _ in index.search("lupus", 10)) == [0, 2]


def test_questions_do_not_grow_the_vocabulary():
    index = LexicalIndex.build(_corpus(200))
    before = (dict(index._tokenizer.word_to_id), dict(index._tokenizer.word_to_stem))
    for query in ("lupuses transplanting clinics", "brand new words never indexed"):
        index.search(query, 5)
    assert (index._tokenizer.word_to_id, index._tokenizer.word_to_stem) == before


def test_stemmed_variants_match(tmp_path):
    index = LexicalIndex.build(["transplant outcomes in lupus", "insulin pumps"])
    index.save(tmp_path)
    loaded = LexicalIndex.load(tmp_path)
    assert [r for r, _ in loaded.search("transplanted", 5)] == [0]
