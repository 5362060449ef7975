"""A small learned reorder of the fused ranking's top documents.

Reciprocal rank fusion reads only ranks: a document whose passage is far closer to the question
than any other gets the same boost as one that is barely closer, and a short follow-up whose
resolved text still carries the earlier question drifts to the broad documents that match
everything. A logistic regression over a few signals per document (how it fused, how close its
best passage and its card are to the question, relative to the best, and where each retriever
put it, and how likely the document classifier thinks a question is to want it:
qa.retrieval.document_classifier) orders the top documents instead. Its weights are data
(`qa/data/document_reranker.json`, naming the classifier's file beside it), fitted by
`bench/document_reranker.py` on labelled questions that earlier sessions had already read; the
fresh batches and the gold set measure it (docs/design.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.errors import ConfigError
from qa.retrieval.document_classifier import DocumentClassifier

FEATURES = ("reciprocal fused rank", "fused / best fused", "best cosine",
            "best cosine - top cosine", "card cosine", "card cosine - best card",
            "log(1 + passages)", "reciprocal dense rank", "reciprocal BM25 rank",
            "is a reference document", "classifier probability", "log classifier probability",
            "classifier probability - best")
CLASSIFIER_COLUMNS = 3  # the last FEATURES: `classifier_columns`
PROBABILITY_FLOOR = 1e-4  # keeps the logarithm finite
UNRANKED = 10**6  # a passage one retriever did not return


def document_table(numbers: np.ndarray, fused: np.ndarray, similarity: np.ndarray,
                   dense_rank: np.ndarray, lexical_rank: np.ndarray,
                   card_similarity: Callable[[np.ndarray], np.ndarray],
                   is_reference: Callable[[np.ndarray], np.ndarray],
                   probability: Callable[[np.ndarray], np.ndarray], top: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The first `top` documents of the candidates and one row of FEATURES for each.

    The arrays describe the candidate passages in fused order (document number, fused score,
    cosine, rank in the dense and BM25 lists). Returns, for each document in order of first
    appearance, the position of its first (best fused) passage, and its features;
    `card_similarity`, `is_reference` and `probability` (the document classifier's) are asked
    about those positions only."""
    if not len(numbers):
        return np.zeros(0, dtype=np.int64), np.zeros((0, len(FEATURES)))
    documents, first, of_candidate = np.unique(numbers, return_index=True, return_inverse=True)
    best_cosine = np.full(len(documents), -np.inf)
    np.maximum.at(best_cosine, of_candidate, similarity)
    best_dense = np.full(len(documents), UNRANKED, dtype=np.int64)
    np.minimum.at(best_dense, of_candidate, dense_rank)
    best_lexical = np.full(len(documents), UNRANKED, dtype=np.int64)
    np.minimum.at(best_lexical, of_candidate, lexical_rank)
    passages = np.bincount(of_candidate, minlength=len(documents))
    chosen = np.argsort(first, kind="stable")[:top]  # documents in order of first appearance
    positions = first[chosen]
    cosine = best_cosine[chosen]
    cards = np.asarray(card_similarity(positions), dtype=np.float64)
    table = np.column_stack([
        1.0 / (1.0 + np.arange(len(chosen))), fused[positions] / (fused[positions[0]] or 1.0),
        cosine, cosine - cosine.max(), cards, cards - cards.max(), np.log1p(passages[chosen]),
        1.0 / (1.0 + best_dense[chosen]), 1.0 / (1.0 + best_lexical[chosen]),
        np.asarray(is_reference(positions), dtype=np.float64),
        classifier_columns(np.asarray(probability(positions), dtype=np.float64))])
    return positions, table


def classifier_columns(probability: np.ndarray) -> np.ndarray:
    """The classifier's FEATURES for the documents given: the probability, its logarithm and
    its distance from the best one's."""
    if not len(probability):
        return np.zeros((0, CLASSIFIER_COLUMNS))
    return np.column_stack([probability, np.log(probability + PROBABILITY_FLOOR),
                            probability - probability.max()])


@dataclass(frozen=True)
class DocumentReranker:
    """Scores documents from their FEATURES rows: a higher score ranks first."""

    weights: np.ndarray
    intercept: float
    reference_documents: frozenset[str]
    top: int
    classifier: DocumentClassifier

    @classmethod
    def from_file(cls, path: Path, dimension: int | None = None) -> DocumentReranker:
        """The weights at `path` and the classifier file they name; `dimension`, when given,
        is the embedding size the classifier must read."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if tuple(data["features"]) != FEATURES:
                raise ValueError("its features are not the ones this version computes")
            weights = np.asarray(data["weights"], dtype=np.float64)
            if weights.shape != (len(FEATURES),):
                raise ValueError("wrong number of weights")
            classifier = DocumentClassifier.from_file(path.parent / data["classifier"],
                                                      dimension)
            return cls(weights, float(data["intercept"]),
                       frozenset(data.get("reference_documents", ())), int(data["top"]),
                       classifier)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"document reranker {path} is unusable ({exc}); run "
                              "`python bench/document_reranker.py --write` to refit it") from exc

    def order(self, features: np.ndarray) -> np.ndarray:
        """The indices of the rows of `features`, best first (ties keep the given order)."""
        return np.argsort(-(features @ self.weights + self.intercept), kind="stable")
