"""Engine benchmark: build and question overhead against the raw model, in one run.

* Build: a full build from scratch (read, chunk, embed, FAISS, BM25, atomic write) against the
  raw `model.encode` of the very same passage texts with the same batch size.
* Incremental rebuild: one corpus document edited, then `qa build` again (only the changed
  passages are re-embedded).
* Question: `engine.ask` latency (p50, p95) against the floor — the raw time to encode the same
  question with the model — over the gold questions, answer cache off.

Prints a Markdown section; with --write it replaces the marked section of docs/benchmarks.md.

    python bench/engine_bench.py [--corpus corpus] [--gold eval/gold] [--repeat 3] [--write]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from typing import Any
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bench.report import replace_section  # noqa: E402
from qa.indexing.build import BuildConfig, chunk_corpus, run_build  # noqa: E402
from qa.encoders import embedder_from_settings  # noqa: E402
from qa.engine import QAEngine  # noqa: E402
from qa.evaluation import read_gold  # noqa: E402
from qa.settings import Settings  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


def timed_ms(call: Callable[[], object]) -> float:
    """Milliseconds one call takes (its result is dropped)."""
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def passage_texts(settings: Settings) -> list[str]:
    """The exact texts a build embeds."""
    return [p.embedding_text() for p in chunk_corpus(BuildConfig.from_settings(settings)).passages]


def bench_build(settings: Settings, embedder, repeat: int) -> dict[str, float]:
    texts = passage_texts(settings)
    raw, build = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        embedder.encode(texts, batch_size=settings.embed_batch_size)
        raw.append(time.perf_counter() - started)
        with tempfile.TemporaryDirectory() as tmp:
            fresh = settings.model_copy(update={"index_dir": Path(tmp) / "index"})
            started = time.perf_counter()
            run_build(fresh, embedder=embedder)
            build.append(time.perf_counter() - started)
    raw_s, build_s = min(raw), min(build)
    return {"passages": len(texts), "raw_s": raw_s, "build_s": build_s,
            "raw_pps": len(texts) / raw_s, "build_pps": len(texts) / build_s,
            "overhead": build_s / raw_s - 1}


def bench_incremental(settings: Settings, embedder) -> dict[str, Any]:
    """Full build of a copy of the corpus, one document edited, rebuilt: seconds and re-embeds."""
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        shutil.copytree(settings.corpus[0], corpus)
        fresh = settings.model_copy(update={"corpus": [corpus], "index_dir": Path(tmp) / "index"})
        run_build(fresh, embedder=embedder)
        edited = sorted(corpus.rglob("*.md"))[0]
        edited.write_text(edited.read_text(encoding="utf-8") + "\n\n## Benchmark edit\n\nOne "
                          "paragraph added by the engine benchmark to change this document.\n",
                          encoding="utf-8")
        started = time.perf_counter()
        report = run_build(fresh, embedder=embedder)
        return {"seconds": time.perf_counter() - started, "re_embedded": report.re_embedded,
                "reused": report.reused, "document": edited.name}


def bench_questions(engine: QAEngine, questions: list[str], repeat: int) -> dict[str, float]:
    """Cold questions (the engine must be built with the answer cache off); the floor is the
    serving encoder alone on the same question."""
    raw_model = engine.embedder
    floor, ask = [], []
    for question in questions[:20]:  # warm-up: allocator, lazy imports
        raw_model.encode([question])
        engine.ask(question)
    for _ in range(repeat):
        for question in questions:
            floor.append(timed_ms(lambda: raw_model.encode([question])))
            ask.append(timed_ms(lambda: engine.ask(question)))
    return {"n": len(ask), "floor_p50": percentile(floor, 50), "floor_p95": percentile(floor, 95),
            "ask_p50": percentile(ask, 50), "ask_p95": percentile(ask, 95),
            "overhead_p50": percentile(ask, 50) / percentile(floor, 50) - 1,
            "mean_floor": statistics.fmean(floor), "mean_ask": statistics.fmean(ask)}


def main() -> None:
    parser = argparse.ArgumentParser(description="Engine build and question benchmark")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--gold", type=Path, default=ROOT / "eval" / "gold")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(corpus=[args.corpus], index_dir=Path(tmp) / "index",
                            answer_cache_size=0)
        embedder = embedder_from_settings(settings)
        embedder.encode(["warm up"])
        build = bench_build(settings, embedder, args.repeat)
        incremental = bench_incremental(settings, embedder)
        run_build(settings, embedder=embedder)
        engine = QAEngine.from_settings(settings, embedder=embedder)
        questions = [g.question for g in read_gold(args.gold)]
        asked = bench_questions(engine, questions, args.repeat)

    lines = [
        f"Machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}; model `{settings.model}` on "
        f"`{settings.model_backend}`; "
        f"best of {args.repeat} builds, {asked['n']} timed questions "
        f"({len(questions)} gold questions x {args.repeat}).",
        "",
        "| measure | raw model | engine | overhead | target |",
        "| --- | --- | --- | --- | --- |",
        f"| build, {build['passages']} passages | {build['raw_s']:.2f} s "
        f"({build['raw_pps']:.1f} passages/s) | {build['build_s']:.2f} s "
        f"({build['build_pps']:.1f} passages/s) | {build['overhead'] * 100:+.1f} % | <= +15 % |",
        f"| incremental rebuild, one document edited (`{incremental['document']}`) | | "
        f"{incremental['seconds']:.2f} s ({incremental['re_embedded']} passages re-embedded, "
        f"{incremental['reused']} reused) | | |",
        f"| question p50 | {asked['floor_p50']:.2f} ms | {asked['ask_p50']:.2f} ms | "
        f"{asked['overhead_p50'] * 100:+.1f} % | <= +30 % |",
        f"| question p95 | {asked['floor_p95']:.2f} ms | {asked['ask_p95']:.2f} ms | | |",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        replace_section(ROOT / "docs" / "benchmarks.md", "engine", text)


if __name__ == "__main__":
    main()
