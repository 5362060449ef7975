"""Which document a question is asking for, learned from questions people asked.

Cosine similarity says how close a passage's words are to the question's, not which document a
person wants: "does Blue Cross cover HSCT for MS?" is closest to the MS documents, while the
answer is in the one on costs and insurance. A multinomial logistic regression over the
question's embedding (already computed; no second model) gives each document a probability.
It is fitted on the labelled questions of the batches earlier sessions have read and on every
passage of the library labelled with its own document, so a document that few questions have
asked for is still known by its text. Its probability is one of the document reranker's
signals (qa.retrieval.document_reranker), never a ranking of its own. The weights are data
(`qa/data/document_classifier.npz`), fitted by `bench/document_reranker.py --write` together
with the reranker; when the library gains documents they must be refitted (a document the
classifier does not know gets the uniform probability meanwhile).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import ConfigError


@dataclass(frozen=True)
class DocumentClassifier:
    """P(document | question embedding) for the documents it was fitted on."""

    documents: tuple[str, ...]
    weights: np.ndarray  # one row per document, one column per embedding dimension
    intercept: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)
    _position: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_position", {d: i for i, d in enumerate(self.documents)})

    def probabilities(self, vector: np.ndarray, documents: Sequence[str]) -> np.ndarray:
        """Each named document's probability for the question; the uniform one for a
        document added to the library after the fit."""
        logits = self.weights @ np.asarray(vector, dtype=np.float64) + self.intercept
        exp = np.exp(logits - logits.max())
        p = exp / exp.sum()
        uniform = 1.0 / len(self.documents)
        return np.array([p[self._position[d]] if d in self._position else uniform
                         for d in documents])

    def save(self, path: Path) -> None:
        np.savez_compressed(path, documents=np.array(self.documents),
                            weights=self.weights.astype(np.float32),
                            intercept=self.intercept.astype(np.float32),
                            meta=np.array(json.dumps(self.meta, sort_keys=True)))

    @classmethod
    def from_file(cls, path: Path, dimension: int | None = None) -> DocumentClassifier:
        try:
            with np.load(path, allow_pickle=False) as data:
                documents = tuple(str(d) for d in data["documents"])
                weights = np.asarray(data["weights"], dtype=np.float64)
                intercept = np.asarray(data["intercept"], dtype=np.float64)
                meta = json.loads(str(data["meta"]))
            if weights.shape != (len(documents), weights.shape[1]) or \
                    intercept.shape != (len(documents),) or not documents:
                raise ValueError("its weights do not match its documents")
            if dimension is not None and weights.shape[1] != dimension:
                raise ValueError(f"it reads {weights.shape[1]}-dimensional questions, the model "
                                 f"gives {dimension}")
            return cls(documents, weights, intercept, meta)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"document classifier {path} is unusable ({exc}); run "
                              "`python bench/document_reranker.py --write` to refit it") from exc
