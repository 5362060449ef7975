"""The dense (FAISS) index: exact inner product for small corpora, an HNSW graph for large ones.

Every FAISS knob lives here: what a build makes, how a build's file is opened, and the
query-time settings a server applies.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import faiss
import numpy as np

HNSW_STORAGE = "fp16"


def build(vectors: np.ndarray, ann_threshold: int, hnsw_m: int,
          hnsw_ef_construction: int) -> tuple[Any, dict[str, Any]]:
    """The index for these vectors and its description for the manifest."""
    dimension = vectors.shape[1]
    index: Any
    if len(vectors) < ann_threshold:
        index = faiss.IndexFlatIP(dimension)
        info: dict[str, Any] = {"type": "flat"}
    else:
        # Half-precision vectors inside the graph: a query reads half the bytes, which is what
        # costs right after the model has flushed the caches, and gold-set answers are the same
        # (bench/dense_bench.py). Exact similarities still come from embeddings.npy.
        fp16: Any = faiss.ScalarQuantizer.QT_fp16  # an int; the stub calls it a quantizer
        index = faiss.IndexHNSWSQ(dimension, fp16, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = hnsw_ef_construction
        faiss.omp_set_num_threads(os.cpu_count() or 1)  # building a graph does use every core
        index.train(vectors)
        info = {"type": "hnsw", "storage": HNSW_STORAGE, "m": hnsw_m,
                "ef_construction": hnsw_ef_construction}
    if len(vectors):
        index.add(vectors)
    return index, info


def fingerprint_parts(ann_threshold: int, hnsw_m: int, hnsw_ef_construction: int) -> list[Any]:
    """What, besides the vectors, changes the index a build makes."""
    return [ann_threshold, hnsw_m, hnsw_ef_construction, HNSW_STORAGE]


def save(index: Any, path: Path) -> None:
    faiss.write_index(index, str(path))


def load(path: Path) -> Any:
    """MMAP_IFC maps the stored vectors and the HNSW graph instead of copying them, so the
    workers of one machine share those pages (IO_FLAG_MMAP alone still copies them)."""
    return faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY)


def is_graph(index: Any) -> bool:
    """True for an HNSW index (a search that releases the GIL long enough to overlap work)."""
    return hasattr(index, "hnsw")


def configure_search(index: Any, ef_search: int) -> None:
    """Query-time settings. One question is one query: OpenMP threads only add hand-offs and
    compete with the model's own threads (docs/performance.md). efSearch is a serving choice."""
    faiss.omp_set_num_threads(1)
    if is_graph(index):
        index.hnsw.efSearch = ef_search
