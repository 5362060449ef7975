"""Which sentence(s) of a quote best match the question: stemmed word overlap, rarer words weigh more.

Cheap on purpose (no extra model call per sentence): sentence spans were computed at build time.
"""

from __future__ import annotations

import math
from functools import lru_cache

from qa.domain import Passage
from qa.text import STOP_WORDS, stem_all, words

# Words too common in this library to say which sentence answers a question.
_IGNORED = STOP_WORDS | {"stem", "cell", "cells", "what", "how", "does", "can", "is"}


def terms(text: str) -> set[str]:
    """Stemmed content words of a text."""
    return set(stem_all(w for w in words(text) if w not in _IGNORED))


@lru_cache(maxsize=4096)
def _sentence_terms(text: str, sentences: tuple[tuple[int, int], ...]) -> tuple[frozenset[str], ...]:
    """The terms of each sentence of a passage. Passages recur in answer after answer, so their
    terms are worth remembering (bounded: corpus text only, never a question). Keyed by the text
    itself, whose hash Python keeps on the string, not by an id a rebuilt index could reuse."""
    return tuple(frozenset(terms(text[start:end])) for start, end in sentences)


def highlight(passage: Passage, query_terms: set[str], limit: int = 2) -> tuple[tuple[int, int], ...]:
    """Character ranges (in passage.text) of the best-matching sentences; the first if none match."""
    if not passage.sentences:
        return ()
    scored = []
    for (start, end), sentence in zip(passage.sentences,
                                      _sentence_terms(passage.text, passage.sentences)):
        overlap = sentence & query_terms
        # fsum: an exact sum, the same whatever order the set yields its words in. A plain
        # sum's rounding followed the set's order, which follows Python's per-process string
        # hashing, so two near-tied sentences were highlighted differently from one server
        # process to the next.
        score = math.fsum(1.0 + math.log(len(t)) for t in overlap)
        scored.append((score, start, end))
    best = max(s for s, _, _ in scored)
    if best <= 0:
        first = passage.sentences[0]
        return (first,)
    picked = sorted(scored, key=lambda item: -item[0])[:limit]
    picked = [item for item in picked if item[0] >= 0.6 * best]
    return tuple(sorted((start, end) for _, start, end in picked))
