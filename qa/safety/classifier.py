"""The learned triage classifier: a linear model over the question's embedding (already computed
for retrieval) and its word and character n-grams.

Trained by `qa triage train` (qa/safety/training.py) on labelled messages from independent
writers; the weights live in a small file (qa/data/triage_model.npz) that loads in milliseconds.
scikit-learn's vectorisers rebuild the n-gram features from the stored vocabularies; the scores
are one matrix product.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from qa.errors import ConfigError

CATEGORIES = ("emergency", "personal_advice", "unproven_clinic", "out_of_scope", "general")
WORD_PARAMS: dict[str, Any] = {"analyzer": "word", "ngram_range": (1, 2), "lowercase": True,
                               "strip_accents": "unicode", "sublinear_tf": True,
                               "token_pattern": r"(?u)\b\w+\b"}
CHAR_PARAMS: dict[str, Any] = {"analyzer": "char_wb", "ngram_range": (2, 5), "lowercase": True,
                               "strip_accents": "unicode", "sublinear_tf": True}


@dataclass(frozen=True)
class Scores:
    """The classifier's probability for each category."""

    probabilities: dict[str, float]

    def __getitem__(self, category: str) -> float:
        return self.probabilities[category]

    @property
    def best(self) -> str:
        return max(self.probabilities, key=lambda c: self.probabilities[c])

    def describe(self) -> str:
        return ", ".join(f"{c} {p:.2f}" for c, p in sorted(
            self.probabilities.items(), key=lambda item: -item[1]) if p >= 0.05)


class TriageClassifier:
    """Scores a message; built from a trained artifact (or directly by the trainer)."""

    def __init__(self, words: TfidfVectorizer, chars: TfidfVectorizer, embedding_weight: float,
                 coef: np.ndarray, intercept: np.ndarray, classes: tuple[str, ...],
                 meta: dict[str, Any]) -> None:
        self.words = words
        self.chars = chars
        self.embedding_weight = embedding_weight
        self.coef = np.asarray(coef, dtype=np.float32)
        self.intercept = np.asarray(intercept, dtype=np.float32)
        self.classes = classes
        self.meta = meta
        # One message at a time (the serving path): sklearn's own analyzers make the n-grams,
        # and the tf-idf weights are applied here to just the n-grams present — the same
        # numbers as `features`, without building sparse matrices (a test holds them equal).
        n_words = len(words.vocabulary_)
        n_chars = len(chars.vocabulary_)
        self._blocks = ((words.build_analyzer(), words.vocabulary_, words.idf_, 0),
                        (chars.build_analyzer(), chars.vocabulary_, chars.idf_, n_words))
        self._embedding_offset = n_words + n_chars

    def features(self, texts: list[str], vectors: np.ndarray) -> sparse.csr_matrix:
        return sparse.hstack([self.words.transform(texts), self.chars.transform(texts),
                              sparse.csr_matrix(np.asarray(vectors) * self.embedding_weight)],
                             format="csr")

    def scores(self, text: str, vector: np.ndarray) -> Scores:
        logits = self.intercept + self.embedding_weight * (
            self.coef[:, self._embedding_offset:] @ np.asarray(vector, dtype=np.float32))
        for analyze, vocabulary, idf, offset in self._blocks:
            counts: dict[int, int] = {}
            for gram in analyze(text):
                column = vocabulary.get(gram)
                if column is not None:
                    counts[column] = counts.get(column, 0) + 1
            if not counts:
                continue
            columns = np.fromiter(counts, dtype=np.int64, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            weights = (1.0 + np.log(tf)) * idf[columns]  # sublinear tf, idf
            weights /= np.linalg.norm(weights)
            logits = logits + self.coef[:, columns + offset] @ weights.astype(np.float32)
        logits = logits - logits.max()
        probabilities = np.exp(logits)
        probabilities /= probabilities.sum()
        return Scores({c: float(p) for c, p in zip(self.classes, probabilities)})

    def score_many(self, texts: list[str], vectors: np.ndarray) -> list[Scores]:
        logits = self.features(texts, vectors) @ self.coef.T + self.intercept
        logits = np.asarray(logits) - np.asarray(logits).max(axis=1, keepdims=True)
        probabilities = np.exp(logits)
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        return [Scores({c: float(p) for c, p in zip(self.classes, row)}) for row in probabilities]

    # --- the artifact ---------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path, word_vocab=np.array(json.dumps(_vocabulary(self.words))),
            word_idf=self.words.idf_.astype(np.float32),
            char_vocab=np.array(json.dumps(_vocabulary(self.chars))),
            char_idf=self.chars.idf_.astype(np.float32), coef=self.coef,
            intercept=self.intercept, classes=np.array(json.dumps(list(self.classes))),
            meta=np.array(json.dumps(self.meta | {"embedding_weight": self.embedding_weight},
                                     sort_keys=True)))

    @classmethod
    def load(cls, path: Path) -> TriageClassifier:
        """The trained classifier; a missing or damaged file is one clear line."""
        try:
            with np.load(path) as data:  # no pickles: text is stored as JSON strings
                meta = json.loads(str(data["meta"]))
                words = _vectorizer(WORD_PARAMS, json.loads(str(data["word_vocab"])),
                                    data["word_idf"])
                chars = _vectorizer(CHAR_PARAMS, json.loads(str(data["char_vocab"])),
                                    data["char_idf"])
                classes = tuple(str(c) for c in json.loads(str(data["classes"])))
                coef, intercept = data["coef"], data["intercept"]
            expected = len(words.vocabulary) + len(chars.vocabulary) + int(meta["dimension"])
            if coef.shape != (len(classes), expected) or set(classes) != set(CATEGORIES):
                raise ValueError("the weights do not match the stored vocabularies")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"cannot load the triage model {path} ({exc.__class__.__name__}: "
                              f"{exc}); run `qa triage train` to rebuild it") from exc
        return cls(words, chars, float(meta["embedding_weight"]), coef, intercept, classes, meta)


def _vocabulary(vectorizer: TfidfVectorizer) -> list[str]:
    ordered = sorted(vectorizer.vocabulary_.items(), key=lambda item: item[1])
    return [term for term, _ in ordered]


def _vectorizer(params: dict[str, Any], vocabulary: list[str], idf: np.ndarray
                ) -> TfidfVectorizer:
    vectorizer = TfidfVectorizer(**params, vocabulary={str(t): i for i, t in enumerate(vocabulary)})
    vectorizer.idf_ = np.asarray(idf, dtype=np.float64)
    return vectorizer
