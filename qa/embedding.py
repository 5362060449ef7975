"""Embedders: a small Protocol, and the sentence-transformers implementation used in production.

Vectors are always L2-normalised float32 so inner product equals cosine similarity. The model is
loaded from local files only (HF_HUB_OFFLINE is forced): nothing is downloaded at run time.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from qa.errors import ModelError


class Embedder(Protocol):
    """Anything that turns texts into L2-normalised float32 rows."""

    name: str
    dimension: int

    def encode(self, texts: Sequence[str], batch_size: int = 32,
               progress: Callable[[int], None] | None = None) -> np.ndarray: ...


def normalise_rows(vectors: np.ndarray) -> np.ndarray:
    """L2-normalise each row (zero rows stay zero) as contiguous float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(vectors / norms, dtype=np.float32)


class SentenceTransformerEmbedder:
    """Wraps a sentence-transformers model; loads it once, on first use."""

    def __init__(self, name: str, reference: str, device: str = "cpu") -> None:
        self.name = name
        self._reference = reference
        self._device = device
        self._model = None
        self._dimension: int | None = None

    def _load(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(self._reference, device=self._device)
            except Exception as exc:  # any loader failure becomes one clear line
                raise ModelError(
                    f"cannot load embedding model '{self._reference}' from local files: "
                    f"{exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                ) from exc
            getter = getattr(self._model, "get_embedding_dimension", None) or \
                self._model.get_sentence_embedding_dimension
            self._dimension = int(getter())
        return self._model

    @property
    def dimension(self) -> int:
        self._load()
        assert self._dimension is not None
        return self._dimension

    def encode(self, texts: Sequence[str], batch_size: int = 32,
               progress: Callable[[int], None] | None = None) -> np.ndarray:
        model = self._load()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        chunks = []
        for offset in range(0, len(texts), batch_size):
            batch = list(texts[offset:offset + batch_size])
            chunks.append(model.encode(batch, batch_size=batch_size, convert_to_numpy=True,
                                       normalize_embeddings=True, show_progress_bar=False))
            if progress:
                progress(len(batch))
        return normalise_rows(np.concatenate(chunks))


def embedder_from_settings(settings) -> SentenceTransformerEmbedder:
    """The configured model; its manifest name is the setting itself, not the resolved path."""
    return SentenceTransformerEmbedder(settings.model, settings.model_reference())
