"""Embedders: the Protocol (`base`), the PyTorch and ONNX Runtime backends, and the one factory
that picks a backend from the settings."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from qa.encoders.base import Embedder, Progress
from qa.errors import ModelError
from qa.settings import Settings

LOG = logging.getLogger("qa.embedding")

__all__ = ["Embedder", "LazyEmbedder", "embedder_from_settings", "ensure_onnx_export"]


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
               progress: Progress | None = None) -> np.ndarray:
        return self.loaded().encode(texts, batch_size, progress)


def ensure_onnx_export(settings: Settings) -> Path:
    """The folder of the model's ONNX export, made now (locally, once) if it does not exist."""
    from qa.encoders.onnx_backend import MODEL_FILE, export_directory, export_onnx

    directory = export_directory(settings.export_dir(), settings.model)
    if not (directory / MODEL_FILE).exists():
        LOG.info("exporting the model to ONNX (once)", extra={"path": str(directory)})
        export_onnx(settings.model, settings.model_reference(), directory)
    return directory


def embedder_from_settings(settings: Settings) -> LazyEmbedder:
    """The configured model on the configured backend; its manifest name is the setting itself,
    not the resolved path. The ONNX backend exports the model once (locally) when needed and
    falls back to PyTorch, with a warning, where it cannot."""
    threads = settings.model_thread_count()

    def on_torch() -> Embedder:
        from qa.encoders.torch_backend import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(settings.model, settings.model_reference(), threads=threads)

    def on_onnx() -> Embedder:
        from qa.encoders.onnx_backend import OnnxEmbedder

        try:
            return OnnxEmbedder(settings.model, ensure_onnx_export(settings), threads)
        except (ModelError, OSError) as exc:
            LOG.warning("ONNX backend unavailable, using PyTorch", extra={"reason": str(exc)})
            return on_torch()

    return LazyEmbedder(settings.model, on_onnx if settings.model_backend == "onnx" else on_torch)
