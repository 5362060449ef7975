"""Which dense index at 32k passages: exact search against HNSW and half-precision, on quality.

Loads the MedQuAD-mixed index `bench/medquad_distractors.py` keeps in var/bench/medquad-index
(its stored vectors, whatever dense index it was built with), then puts each candidate FAISS index
in its place, built in memory from the same vectors, and measures, one thread as the engine runs:

* one dense query's latency, top 40 as the engine asks, timed right after the model has encoded
  that question (as in the engine: the encoder streams ~90 MB of weights and leaves the caches
  cold, which makes graph walks markedly slower than in a warm loop);
* recall@40 against exact search on those questions;
* the whole gold set through the engine (hit@1, hit@3, MRR@10, in-scope abstentions), so a
  faster index is kept only if the answers stay as good.

This is the measurement behind the defaults QA_ANN_THRESHOLD, QA_HNSW_M, QA_HNSW_EF_CONSTRUCTION and
QA_HNSW_EF_SEARCH.

    python bench/dense_bench.py [--write]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any
from pathlib import Path

import faiss
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bench.engine_bench import percentile  # noqa: E402
from bench.report import replace_section  # noqa: E402
from qa.engine import QAEngine  # noqa: E402
from qa.evaluation import evaluate_gold, read_gold  # noqa: E402
from qa.settings import Settings  # noqa: E402

MEDQUAD = ROOT.parent / "shared" / "data" / "medquad" / "medquad.jsonl"
CANDIDATES_PER_QUERY = 40


def measure(engine: QAEngine, index, vectors: np.ndarray, exact, gold) -> dict:
    """Latency, recall against `exact`, and gold-set quality with `index` as the dense side."""
    engine.index.dense = index
    faiss.omp_set_num_threads(1)
    times = []
    for question, vector in zip(gold, vectors):
        engine.embedder.encode([question.question])
        started = time.perf_counter()
        index.search(vector[None, :], CANDIDATES_PER_QUERY)
        times.append((time.perf_counter() - started) * 1000)
    _, expected = exact.search(vectors, CANDIDATES_PER_QUERY)
    _, found = index.search(vectors, CANDIDATES_PER_QUERY)
    recall = np.mean([len(set(a) & set(b)) / CANDIDATES_PER_QUERY for a, b in zip(expected, found)])
    summary = evaluate_gold(engine, gold).summary()
    return {"p50": percentile(times, 50), "p95": percentile(times, 95), "recall": float(recall),
            **{k: summary[k] for k in ("hit_at_1", "hit_at_3", "mrr_at_10", "in_scope_abstained")}}


STORAGE = {"full": "full vectors", "fp16": "half-precision vectors", "sq8": "8-bit vectors"}


def hnsw(vectors: np.ndarray, m: int, ef_construction: int, storage: str
         ) -> tuple[Any, float]:
    index: Any
    if storage == "full":
        index = faiss.IndexHNSWFlat(vectors.shape[1], m, faiss.METRIC_INNER_PRODUCT)
    else:
        kind = {"fp16": faiss.ScalarQuantizer.QT_fp16, "sq8": faiss.ScalarQuantizer.QT_8bit}[storage]
        # faiss's type stubs list only one of IndexHNSWSQ's SWIG overloads
        index = faiss.IndexHNSWSQ(vectors.shape[1], kind, m,  # type: ignore[arg-type]
                                  faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = ef_construction
    faiss.omp_set_num_threads(os.cpu_count() or 1)  # as the builder does
    started = time.perf_counter()
    index.train(vectors)
    index.add(vectors)
    return index, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, default=ROOT / "eval" / "gold")
    parser.add_argument("--index", type=Path, default=ROOT / "var" / "bench" / "medquad-index")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    if not (args.index / "current").exists():
        sys.exit(f"error: no built index in {args.index}; run bench/medquad_distractors.py first")

    gold = read_gold(args.gold)
    settings = Settings(index_dir=args.index, corpus=[ROOT / "corpus", MEDQUAD], answer_cache_size=0)
    engine = QAEngine.from_settings(settings)
    vectors = np.ascontiguousarray(engine.index.embeddings, dtype=np.float32)
    questions = engine.embedder.encode([g.question for g in gold])
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)

    rows = [("exact (IndexFlatIP)", "", measure(engine, exact, questions, exact, gold))]
    half = faiss.IndexScalarQuantizer(vectors.shape[1], faiss.ScalarQuantizer.QT_fp16,
                                      faiss.METRIC_INNER_PRODUCT)
    half.add(vectors)
    rows.append(("exact, half precision (SQfp16)", "", measure(engine, half, questions, exact, gold)))
    for m, ef_construction, storage in ((32, 80, "full"), (32, 200, "full"), (32, 200, "fp16"),
                                        (32, 200, "sq8"), (16, 200, "fp16"), (16, 400, "fp16")):
        graph, seconds = hnsw(vectors, m, ef_construction, storage)
        for ef_search in (64, 128, 192, 256, 512):
            graph.hnsw.efSearch = ef_search
            rows.append((f"HNSW ({STORAGE[storage]}) M={m}, efConstruction={ef_construction}, "
                         f"efSearch={ef_search}", f"{seconds:.1f} s",
                         measure(engine, graph, questions, exact, gold)))
            print(rows[-1], flush=True)

    lines = [f"{len(vectors):,} passages (curated corpus + MedQuAD), {len(gold)} gold questions; "
             f"top {CANDIDATES_PER_QUERY} per query, one thread. Latency is one FAISS query, "
             "right after the model encoded that question.",
             "",
             "| dense index | build | query p50 / p95 ms | recall@40 vs exact | hit@1 | hit@3 | MRR@10 | in-scope abstained |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, build, r in rows:
        lines.append(f"| {name} | {build} | {r['p50']:.3f} / {r['p95']:.3f} | {r['recall']:.4f} | "
                     f"{r['hit_at_1']:.3f} | {r['hit_at_3']:.3f} | {r['mrr_at_10']:.3f} | "
                     f"{r['in_scope_abstained']:.3f} |")
    text = "\n".join(lines)
    print(text)
    if args.write:
        replace_section(ROOT / "docs" / "benchmarks.md", "dense", text)


if __name__ == "__main__":
    main()
