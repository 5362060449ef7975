"""The sentence-transformers model on PyTorch: used to build indexes' reference vectors, to
check the ONNX export, and to serve when QA_MODEL_BACKEND=torch."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from qa.encoders.base import Progress, encode_in_batches, model_dimension, quiet_model_loading
from qa.errors import ModelError


class SentenceTransformerEmbedder:
    """Wraps a sentence-transformers model; loads it once, on first use."""

    def __init__(self, name: str, reference: str, device: str = "cpu", threads: int = 0) -> None:
        self.name = name
        self._reference = reference
        self._device = device
        self._threads = threads
        self._model: Any = None
        self._dimension = 0

    def _load(self) -> Any:
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
            self._dimension = model_dimension(self._model)
        return self._model

    @property
    def dimension(self) -> int:
        self._load()
        return self._dimension

    def encode(self, texts: Sequence[str], batch_size: int = 32,
               progress: Progress | None = None) -> np.ndarray:
        model = self._load()

        def encode_batch(batch: list[str]) -> np.ndarray:
            return np.asarray(model.encode(batch, batch_size=batch_size, convert_to_numpy=True,
                                           normalize_embeddings=True, show_progress_bar=False))

        return encode_in_batches(encode_batch, texts, batch_size, self._dimension, progress)
