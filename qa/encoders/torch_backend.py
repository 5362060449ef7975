"""Embedders: a small Protocol, and the sentence-transformers implementation used in production.

Vectors are always L2-normalised float32 so inner product equals cosine similarity. The model is
loaded from local files only (HF_HUB_OFFLINE is forced): nothing is downloaded at run time.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from qa.errors import ModelError

LOG = logging.getLogger("qa.encoders.torch_backend")


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


def quiet_model_loading() -> None:
    """No progress bars from transformers on stderr: a server's log and a CLI's one-line errors
    stay readable."""
    try:
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        transformers_logging.set_verbosity_error()
    except ImportError:  # pragma: no cover - transformers comes with sentence-transformers
        pass


class SentenceTransformerEmbedder:
    """Wraps a sentence-transformers model; loads it once, on first use."""

    def __init__(self, name: str, reference: str, device: str = "cpu", threads: int = 0) -> None:
        self.name = name
        self._reference = reference
        self._device = device
        self._threads = threads
        self._model = None
        self._dimension: int | None = None

    def _load(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                import torch
                from sentence_transformers import SentenceTransformer

                if self._threads:
                    torch.set_num_threads(self._threads)
                quiet_model_loading()
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


class LazyEmbedder:
    """Defers loading the model (and a one-off ONNX export) to the first use, so a command that
    fails early — an empty corpus, a broken index — fails at once and says only why."""

    def __init__(self, name: str, factory: Callable[[], Embedder]) -> None:
        self.name = name
        self._factory = factory
        self._embedder: Embedder | None = None

    def loaded(self) -> Embedder:
        if self._embedder is None:
            self._embedder = self._factory()
        return self._embedder

    @property
    def dimension(self) -> int:
        return self.loaded().dimension

    def encode(self, texts: Sequence[str], batch_size: int = 32,
               progress: Callable[[int], None] | None = None) -> np.ndarray:
        return self.loaded().encode(texts, batch_size, progress)


def ensure_onnx_export(settings) -> Path:
    """The folder of the model's ONNX export, made now (locally, once) if it does not exist."""
    from qa.encoders.onnx_backend import MODEL_FILE, export_directory, export_onnx

    directory = export_directory(settings.export_dir(), settings.model)
    if not (directory / MODEL_FILE).exists():
        LOG.info("exporting the model to ONNX (once)", extra={"path": str(directory)})
        export_onnx(settings.model, settings.model_reference(), directory)
    return directory


def embedder_from_settings(settings) -> LazyEmbedder:
    """The configured model on the configured backend; its manifest name is the setting itself,
    not the resolved path. The ONNX backend exports the model once (locally) when needed and
    falls back to PyTorch, with a warning, where it cannot."""
    threads = settings.model_thread_count()

    def on_torch() -> Embedder:
        return SentenceTransformerEmbedder(settings.model, settings.model_reference(), threads=threads)

    def on_onnx() -> Embedder:
        from qa.encoders.onnx_backend import OnnxEmbedder

        try:
            return OnnxEmbedder(settings.model, ensure_onnx_export(settings), threads)
        except (ModelError, OSError) as exc:
            LOG.warning("ONNX backend unavailable, using PyTorch", extra={"reason": str(exc)})
            return on_torch()

    return LazyEmbedder(settings.model, on_onnx if settings.model_backend == "onnx" else on_torch)
