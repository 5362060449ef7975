"""The BM25 side of retrieval, on bm25s (sparse-matrix BM25) with an English stemmer.

bm25s builds and stores the index (a CSC matrix: one column of precomputed BM25 term scores per
vocabulary stem). Queries are answered here from that matrix's posting lists rather than with
`BM25.get_scores`, which adds every posting with `np.add.at` (slow) and then ranks all passages
(a partition over all of them cost more than the scoring at 32k passages). Here one `np.bincount`
sums the question's postings; a score floor that k passages are known to reach (read from the
rarest stems' postings) leaves only the passages at or above it to rank.
Same scores and the same order as bm25s (ties: lower row first); tests hold it to that.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import bm25s
import numpy as np
from bm25s.tokenization import Tokenizer

from qa.text import WORD, stem, words

SMALL_INDEX = 8192  # below this many passages, ranking every passage is cheaper than pruning


def _tokenizer() -> Tokenizer:
    return Tokenizer(stemmer=stem, stopwords="en", splitter=WORD.pattern)


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
        for word in words(query):
            token = word_to_id.get(word)
            if token is None and word not in self._stopwords:
                token = stem_to_id.get(stem(word))
            if token is not None:
                ids.add(token)
        return sorted(ids)

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """Top-k (row, score) pairs with a positive BM25 score, best first (ties: lower row)."""
        ids = self.query_ids(query)
        if not ids or k <= 0:
            return []
        starts = self._indptr[ids].tolist()
        ends = self._indptr[np.asarray(ids) + 1].tolist()
        rows = [self._indices[a:b] for a, b in zip(starts, ends)]
        # Whole scores of every passage in one pass over the postings (no dense np.add.at).
        scores = np.bincount(np.concatenate(rows),
                             weights=np.concatenate([self._data[a:b] for a, b in zip(starts, ends)]),
                             minlength=self._num_docs)
        floor = 0.0 if self._num_docs <= SMALL_INDEX else _top_k_floor(rows, scores, k)
        candidates = np.flatnonzero(scores >= floor) if floor > 0 else np.flatnonzero(scores > 0)
        return _top(candidates, scores[candidates], k)


def _top_k_floor(rows: list[np.ndarray], scores: np.ndarray, k: int) -> float:
    """A score that at least k distinct passages reach (so every top-k passage does), or 0.

    Read from the postings of the query's rarest stems, whose passages score highest: among the
    entries of `joined` posting lists a passage occurs at most `joined` times, so the best
    k x joined entries hold k distinct passages. One comparison over all scores then keeps only
    the passages at or above it; a partition over every passage cost more than the scoring."""
    rarest = sorted(rows, key=len)
    total = 0
    for joined, postings in enumerate(rarest, start=1):
        total += len(postings)
        if total >= k * joined:
            return _nth_largest(scores[np.concatenate(rarest[:joined])], k * joined)
    return 0.0


def _nth_largest(values: np.ndarray, n: int) -> float:
    return float(np.partition(values, len(values) - n)[len(values) - n])


def _top(rows: np.ndarray, scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The k best positive (row, score) pairs, best first, lower row first among equal scores.

    Everything tied with the last score kept stays in until the final sort, so ties never break
    by chance."""
    if len(scores) > k:
        chosen = np.flatnonzero(scores >= _nth_largest(scores, k))
        rows, scores = rows[chosen], scores[chosen]
    order = np.lexsort((rows, -scores))[:k]
    return [(r, s) for r, s in zip(rows[order].tolist(), scores[order].tolist()) if s > 0]
