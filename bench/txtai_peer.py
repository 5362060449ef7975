"""The txtai side of the peer benchmark (bench/peer_bench.py): run it with the txtai venv's python.

It imports only txtai, the standard library and numpy, so that txtai never becomes a dependency of
the project. Input: the passages and gold questions that peer_bench.py exported as JSON lines, and
the local model folder. It indexes the passages the way a txtai user does plain semantic search
(`Embeddings(path=model, content=False, backend="faiss")`: txtai's default vector method, L2
normalised vectors, inner product; below 5,000 rows txtai's faiss backend is an exact
`IDMap,Flat` index), times the build, then times `embeddings.search(question, k)` for every gold
question and computes document-level hit@3. Prints one JSON object on stdout.

    var/bench/txtai-venv/bin/python bench/txtai_peer.py --passages P.jsonl --gold G.jsonl \
        --model MODEL_DIR [--repeat 3] [--k 20] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402


def read_jsonl(path: Path) -> list[dict]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def distinct_documents(results, document_of: dict[int, str], n: int) -> list[str]:
    """The first `n` distinct document ids of a passage ranking (a document ranks as its best
    passage), as the project's evaluation ranks documents."""
    ranking: list[str] = []
    for uid, _score in results:
        doc = document_of[int(uid)]
        if doc not in ranking:
            ranking.append(doc)
            if len(ranking) >= n:
                break
    return ranking


def main() -> None:
    parser = argparse.ArgumentParser(description="txtai peer: build and search timings, hit@3")
    parser.add_argument("--passages", type=Path, required=True)
    parser.add_argument("--gold", type=Path, required=True)
    parser.add_argument("--model", required=True, help="local sentence-transformers folder")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--k", type=int, default=20, help="passages per search (hit@3 is taken "
                        "on the first 3 distinct documents among them)")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--method", default=None, help="txtai vector method (default: txtai's "
                        "own choice for the path)")
    args = parser.parse_args()

    import txtai
    from txtai import Embeddings

    torch = sys.modules.get("torch")  # loaded by txtai; not imported here directly
    if args.threads and torch is not None:
        torch.set_num_threads(args.threads)

    passages = read_jsonl(args.passages)
    gold = read_jsonl(args.gold)
    document_of = {int(p["id"]): str(p["document_id"]) for p in passages}
    rows = [(int(p["id"]), p["text"], None) for p in passages]
    questions = [g["question"] for g in gold]

    config = {"path": args.model, "content": False, "backend": "faiss"}
    if args.method:
        config["method"] = args.method
    started = time.perf_counter()
    embeddings = Embeddings(**config)
    embeddings.batchtransform(["warm up"])  # model loaded and run once, outside the build timing
    load_s = time.perf_counter() - started

    builds = []
    for _ in range(max(1, args.repeat)):
        started = time.perf_counter()
        embeddings.index(rows)
        builds.append(time.perf_counter() - started)

    for question in questions[: args.warmup]:
        embeddings.search(question, args.k)
    times = []
    for _ in range(max(1, args.repeat)):
        for question in questions:
            started = time.perf_counter()
            embeddings.search(question, args.k)
            times.append((time.perf_counter() - started) * 1000)

    hits, in_scope, short = 0, 0, 0
    for item in gold:
        if item.get("off_topic") or not item.get("expected"):
            continue
        in_scope += 1
        ranking = distinct_documents(embeddings.search(item["question"], args.k), document_of, 3)
        short += len(ranking) < 3
        hits += bool(set(ranking) & set(item["expected"]))

    ann = getattr(embeddings, "ann", None)
    backend = getattr(ann, "backend", None)
    print(json.dumps({
        "txtai": getattr(txtai, "__version__", None) or _version("txtai"),
        "torch": getattr(torch, "__version__", None),
        "torch_threads": torch.get_num_threads() if torch is not None else None,
        "method": embeddings.config.get("method") or type(embeddings.model).__name__,
        "vectors": type(embeddings.model).__name__,
        "faiss_index": type(backend).__name__ if backend is not None else None,
        "faiss_components": ((embeddings.config.get("build") or {}).get("settings") or {})
        .get("components"),
        "passages": len(rows), "dimensions": embeddings.config.get("dimensions"),
        "load_s": load_s, "build_s": min(builds), "builds_s": builds,
        "n": len(times), "k": args.k,
        "p50_ms": float(np.percentile(times, 50)), "p95_ms": float(np.percentile(times, 95)),
        "in_scope": in_scope, "hit_at_3": hits / max(in_scope, 1), "fewer_than_3_docs": short,
    }))


def _version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


if __name__ == "__main__":
    main()
