"""The BM25 side of retrieval, on bm25s (sparse-matrix BM25) with an English stemmer.

bm25s builds and stores the index (a CSC matrix: one column of precomputed BM25 term scores per
vocabulary stem). Queries are answered here from that matrix's posting lists rather than with
`BM25.get_scores`, which adds every posting with `np.add.at` (slow) and then ranks all passages
(a partition over all of them cost more than the scoring at 32k passages). Here one `np.bincount`
sums the question's postings, and MaxScore pruning ranks only the rows that can reach the top k.
Same scores and the same order as bm25s (ties: lower row first); tests hold it to that.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import bm25s
import numpy as np
import Stemmer
from bm25s.tokenization import Tokenizer

_STEMMER = Stemmer.Stemmer("english")
SMALL_INDEX = 8192  # below this many passages, ranking every passage is cheaper than pruning
_SPLIT = re.compile(r"(?u)\b\w\w+\b")  # bm25s's default splitter, which the index was built with


def _tokenizer() -> Tokenizer:
    return Tokenizer(stemmer=_STEMMER.stemWord, stopwords="en", splitter=_SPLIT.pattern)


class LexicalIndex:
    """A BM25 index over passage texts, row-aligned with the dense index."""

    def __init__(self, retriever: bm25s.BM25, tokenizer: Tokenizer) -> None:
        self._retriever = retriever
        self._tokenizer = tokenizer
        self._stopwords = frozenset(tokenizer.stopwords or ())
        scores = retriever.scores
        # Plain ndarray views of the (memory-mapped) arrays: no copy, no np.memmap per-slice overhead.
        self._data, self._indices, self._indptr = (np.asarray(scores[name]) for name in
                                                   ("data", "indices", "indptr"))
        self._num_docs = int(scores["num_docs"])

    @classmethod
    def build(cls, texts: Sequence[str]) -> LexicalIndex:
        tokenizer = _tokenizer()
        tokens = tokenizer.tokenize(list(texts), return_as="tuple", show_progress=False)
        retriever = bm25s.BM25()
        retriever.index(tokens, show_progress=False)
        return cls(retriever, tokenizer)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._retriever.save(str(directory), show_progress=False)
        self._tokenizer.save_vocab(str(directory))

    @classmethod
    def load(cls, directory: Path, mmap: bool = True) -> LexicalIndex:
        retriever = bm25s.BM25.load(str(directory), mmap=mmap, show_progress=False)
        tokenizer = _tokenizer()
        tokenizer.load_vocab(str(directory))
        return cls(retriever, tokenizer)

    def query_ids(self, query: str) -> list[int]:
        """The vocabulary ids of the query's stems, each once, as the index tokenised passages.

        Read-only on purpose: bm25s's own tokenizer caches every word it meets, so serving with
        it would grow the vocabulary by every word of every question ever asked."""
        ids: set[int] = set()
        word_to_id, stem_to_id = self._tokenizer.word_to_id, self._tokenizer.stem_to_sid
        for word in _SPLIT.findall(query.lower()):
            token = word_to_id.get(word)
            if token is None and word not in self._stopwords:
                token = stem_to_id.get(_STEMMER.stemWord(word))
            if token is not None:
                ids.add(token)
        return sorted(ids)

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """Top-k (row, score) pairs with a positive BM25 score, best first (ties: lower row)."""
        ids = self.query_ids(query)
        if not ids or k <= 0:
            return []
        rows = [self._indices[self._indptr[i]:self._indptr[i + 1]] for i in ids]
        weights = [self._data[self._indptr[i]:self._indptr[i + 1]] for i in ids]
        # Whole scores of every passage in one pass over the postings (no dense np.add.at).
        scores = np.bincount(np.concatenate(rows), weights=np.concatenate(weights),
                             minlength=self._num_docs)
        if self._num_docs <= SMALL_INDEX:
            return _top(np.arange(self._num_docs), scores, k)
        candidates, copies = _maxscore_candidates(rows, weights, scores, k)
        return _top(candidates, scores[candidates], k, copies)


def _maxscore_candidates(rows: list[np.ndarray], weights: list[np.ndarray], scores: np.ndarray,
                         k: int) -> tuple[np.ndarray, int]:
    """The rows that can still reach the top k (MaxScore), and how often one row can repeat.

    A stem adds at most its largest precomputed score to any passage. θ is a score k passages
    are known to reach. A passage found only in the postings of the weakest stems, whose largest
    scores sum below θ, cannot be in the top k; those stems are the common words ("cell",
    "treatment") with the longest postings, so ranking only the other stems' rows avoids a
    partition over every passage (which cost more than the scoring at 32k passages)."""
    bounds = [float(w.max()) if len(w) else 0.0 for w in weights]
    strongest = sorted(range(len(rows)), key=lambda i: -bounds[i])
    theta = 0.0
    for joined in range(1, len(strongest) + 1):
        seen = np.concatenate([rows[i] for i in strongest[:joined]])
        if len(seen) >= k * joined:
            # A row occurs once per stem, so the best k x joined entries hold k distinct rows.
            theta = _nth_largest(scores[seen], k * joined)
            break
    essential, weak = strongest, 0.0
    for dropped, i in enumerate(reversed(strongest)):
        if weak + bounds[i] >= theta:
            essential = strongest[: len(strongest) - dropped]
            break
        weak += bounds[i]
    return np.concatenate([rows[i] for i in essential]), len(essential)


def _nth_largest(values: np.ndarray, n: int) -> float:
    return float(np.partition(values, len(values) - n)[len(values) - n])


def _top(rows: np.ndarray, scores: np.ndarray, k: int, copies: int = 1) -> list[tuple[int, float]]:
    """The k best positive (row, score) pairs, best first, lower row first among equal scores.

    A row may occur up to `copies` times in `rows` (always with the same score). Everything tied
    with the last score kept stays in until the final sort, so ties never break by chance."""
    keep = k * copies
    if len(scores) > keep:
        chosen = np.flatnonzero(scores >= _nth_largest(scores, keep))
        rows, scores = rows[chosen], scores[chosen]
    if copies > 1:
        rows, first = np.unique(rows, return_index=True)
        scores = scores[first]
    order = np.lexsort((rows, -scores))[:k]
    return [(int(rows[i]), float(scores[i])) for i in order if scores[i] > 0]
