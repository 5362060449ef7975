"""A fast, deterministic stand-in for the sentence-transformers model, for unit tests.

Words are stemmed and hashed into a fixed number of dimensions (a bag of words), then the row is
L2-normalised — so texts sharing words are similar, as with the real model, in microseconds.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import Stemmer

_WORD = re.compile(r"\b\w\w+\b")
_STOP = frozenset({"the", "and", "for", "are", "what", "how", "is", "of", "to", "in", "a", "an",
                   "stem", "cell", "cells", "does", "can"})
_STEMMER = Stemmer.Stemmer("english")


def terms(text: str) -> set[str]:
    """Stemmed content words (self-contained: the fake must not depend on the code it tests)."""
    return set(_STEMMER.stemWords([w for w in _WORD.findall(text.lower()) if w not in _STOP]))


def normalise_rows(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(rows / norms, dtype=np.float32)


class HashEmbedder:
    def __init__(self, name: str = "fake-hash-embedder", dimension: int = 256) -> None:
        self.name = name
        self.dimension = dimension
        self.calls = 0
        self.encoded = 0

    def encode(self, texts: Sequence[str], batch_size: int = 32,
               progress: Callable[[int], None] | None = None) -> np.ndarray:
        self.calls += 1
        self.encoded += len(texts)
        rows = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            for term in terms(text):
                slot = int(hashlib.md5(term.encode()).hexdigest()[:8], 16) % self.dimension
                rows[i, slot] += 1.0
        if progress:
            progress(len(texts))
        return normalise_rows(rows)


def damaged_file(path: Path, damage: str, write_wrong: Callable[[Path], None]) -> Path:
    """A model file as an operator might find it: "missing" (nothing written), "garbage" (bytes
    that are not the format) or any other damage, written by `write_wrong` (a readable file
    with the wrong contents)."""
    if damage == "garbage":
        path.write_bytes(b"not a model file")
    elif damage != "missing":
        write_wrong(path)
    return path
