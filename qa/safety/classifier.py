"""The learned triage classifier: a linear model over the question's embedding (already computed
for retrieval) and its word and character n-grams.

Trained by `qa triage train` (qa/safety/training.py, scikit-learn) on labelled messages from
independent writers; the weights live in a small file (qa/data/triage_model.npz) that loads in
milliseconds. Scoring needs only the stored vocabularies, their idf weights and the coefficients:
the n-grams come from qa.safety.ngrams, so serving never imports scikit-learn.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import ConfigError
from qa.safety.ngrams import char_ngrams, word_ngrams

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
    """Scores a message; built from a trained artifact (or by the trainer from its fitted
    vectorisers, `qa.safety.training`)."""

    def __init__(self, word_vocabulary: list[str], word_idf: np.ndarray,
                 char_vocabulary: list[str], char_idf: np.ndarray, embedding_weight: float,
                 coef: np.ndarray, intercept: np.ndarray, classes: tuple[str, ...],
                 meta: dict[str, Any]) -> None:
        self.word_vocabulary = list(word_vocabulary)  # in column order
        self.char_vocabulary = list(char_vocabulary)
        self.word_idf = np.asarray(word_idf, dtype=np.float64)
        self.char_idf = np.asarray(char_idf, dtype=np.float64)
        self.embedding_weight = embedding_weight
        self.coef = np.asarray(coef, dtype=np.float32)
        self.intercept = np.asarray(intercept, dtype=np.float32)
        self.classes = classes
        self.meta = meta
        # The tf-idf weights are applied to just the n-grams present — the numbers sklearn's
        # `transform` gave in training, without building sparse matrices (a test holds them
        # equal).
        n_words = len(self.word_vocabulary)
        self._blocks = (
            (word_ngrams, {g: i for i, g in enumerate(self.word_vocabulary)}, self.word_idf, 0),
            (char_ngrams, {g: i for i, g in enumerate(self.char_vocabulary)}, self.char_idf,
             n_words))
        self._embedding_offset = n_words + len(self.char_vocabulary)

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
        return [self.scores(text, vector) for text, vector in zip(texts, vectors)]

    # --- the artifact ---------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path, word_vocab=np.array(json.dumps(self.word_vocabulary)),
            word_idf=self.word_idf.astype(np.float32),
            char_vocab=np.array(json.dumps(self.char_vocabulary)),
            char_idf=self.char_idf.astype(np.float32), coef=self.coef,
            intercept=self.intercept, classes=np.array(json.dumps(list(self.classes))),
            meta=np.array(json.dumps(self.meta | {"embedding_weight": self.embedding_weight},
                                     sort_keys=True)))

    @classmethod
    def load(cls, path: Path) -> TriageClassifier:
        """The trained classifier; a missing or damaged file is one clear line."""
        try:
            with np.load(path) as data:  # no pickles: text is stored as JSON strings
                meta = json.loads(str(data["meta"]))
                words = [str(w) for w in json.loads(str(data["word_vocab"]))]
                chars = [str(c) for c in json.loads(str(data["char_vocab"]))]
                word_idf, char_idf = data["word_idf"], data["char_idf"]
                classes = tuple(str(c) for c in json.loads(str(data["classes"])))
                coef, intercept = data["coef"], data["intercept"]
            expected = len(words) + len(chars) + int(meta["dimension"])
            if coef.shape != (len(classes), expected) or set(classes) != set(CATEGORIES) \
                    or word_idf.shape != (len(words),) or char_idf.shape != (len(chars),):
                raise ValueError("the weights do not match the stored vocabularies")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"cannot load the triage model {path} ({exc.__class__.__name__}: "
                              f"{exc}); run `qa triage train` to rebuild it") from exc
        return cls(words, word_idf, chars, char_idf, float(meta["embedding_weight"]), coef,
                   intercept, classes, meta)

