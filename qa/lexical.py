"""The BM25 side of retrieval, on bm25s (sparse-matrix BM25) with an English stemmer."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import bm25s
import numpy as np
import Stemmer
from bm25s.tokenization import Tokenizer

_STEMMER = Stemmer.Stemmer("english")


def _tokenizer() -> Tokenizer:
    return Tokenizer(stemmer=_STEMMER.stemWord, stopwords="en")


class LexicalIndex:
    """A BM25 index over passage texts, row-aligned with the dense index."""

    def __init__(self, retriever: bm25s.BM25, tokenizer: Tokenizer) -> None:
        self._retriever = retriever
        self._tokenizer = tokenizer

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

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """Top-k (row, score) pairs with a positive BM25 score."""
        ids = self._tokenizer.tokenize([query], update_vocab=False, return_as="ids",
                                       show_progress=False)[0]
        known = sorted({i for i in ids if i is not None})
        if not known:
            return []
        scores = self._retriever.get_scores(known)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]
