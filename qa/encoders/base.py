"""What every embedder promises, and the helpers both backends share.

Vectors are always L2-normalised float32 so inner product equals cosine similarity. Models are
loaded from local files only: nothing is downloaded at run time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

Progress = Callable[[int], None]


class Embedder(Protocol):
    """Anything that turns texts into L2-normalised float32 rows."""

    name: str

    @property
    def dimension(self) -> int: ...

    def encode(self, texts: Sequence[str], batch_size: int = 32,
               progress: Progress | None = None) -> np.ndarray: ...


def normalise_rows(vectors: np.ndarray) -> np.ndarray:
    """L2-normalise each row (zero rows stay zero) as contiguous float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(vectors / norms, dtype=np.float32)


def encode_in_batches(encode_batch: Callable[[list[str]], np.ndarray], texts: Sequence[str],
                      batch_size: int, dimension: int, progress: Progress | None) -> np.ndarray:
    """The batching loop both backends use, progress per batch. Texts of similar length are
    batched together and the rows put back in the order given: a batch is padded to its
    longest text, so mixing short and long texts spends most of the model's time on padding
    (the concept table's vectors, made at every start-up, took almost twice as long). Padding
    is masked out of the pooling, so each row is the same whichever batch it is in."""
    if not texts:
        return np.zeros((0, dimension), dtype=np.float32)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    rows = np.empty((len(texts), dimension), dtype=np.float32)
    for offset in range(0, len(texts), batch_size):
        chosen = order[offset:offset + batch_size]
        rows[chosen] = encode_batch([texts[i] for i in chosen])
        if progress:
            progress(len(chosen))
    return normalise_rows(rows)


def model_dimension(model: Any) -> int:
    """sentence-transformers renamed the dimension getter; accept either name."""
    getter = getattr(model, "get_embedding_dimension", None) or \
        model.get_sentence_embedding_dimension
    return int(getter())


def quiet_model_loading() -> None:
    """No progress bars from transformers on stderr: a server's log and a CLI's one-line errors
    stay readable."""
    try:
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        transformers_logging.set_verbosity_error()
    except ImportError:  # pragma: no cover - transformers comes with sentence-transformers
        pass
