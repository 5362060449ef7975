"""One normaliser, one word splitter, one stemmer per thread."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from qa import text
from qa.errors import InvalidQuestion


def test_fold_is_lower_case_straight_apostrophes_single_spaces():
    assert text.fold("  Don\u2019t   STOP\tnow ") == "don't stop now"


def test_words_are_runs_of_two_or_more_word_characters():
    assert text.words("A stem-cell (HSCT) isn\u2019t x") == ["stem", "cell", "hsct", "isn"]


@pytest.mark.parametrize("bad", ["", "   ", "?!", None, 5, "x" * 11])
def test_unusable_questions_are_refused(bad):
    with pytest.raises(InvalidQuestion):
        text.normalise_question(bad, max_chars=10)


def test_each_thread_has_its_own_stemmer():
    """PyStemmer's stemmer keeps state and must not be called concurrently: one per thread."""
    # The stemmers themselves are kept, not their ids: a finished thread's stemmer is freed, and
    # a later thread's could then get the same id (this test once failed that way in CI).
    seen: dict[str, object] = {}

    def record() -> None:
        seen[threading.current_thread().name] = text._stemmer()

    threads = [threading.Thread(target=record, name=f"t{i}") for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(stemmer) for stemmer in seen.values()}) == 3
    assert text._stemmer() is text._stemmer()  # and each thread keeps its own


def test_concurrent_stemming_gives_the_sequential_results():
    words = ["transplantation", "mobilising", "infusions", "relapsing", "cells"] * 200
    expected = [text.stem(w) for w in words]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(text.stem, words))
    assert results == expected


def test_word_pairs_are_counted_in_order_and_filtered_by_how_often():
    texts = ["Stem cell transplant.", "A stem cell is not a stem-cell clinic."]
    assert text.word_pair_counts(texts)[("stem", "cell")] == 3
    assert text.word_pair_counts(texts, min_count=2) == {("stem", "cell"): 3}
