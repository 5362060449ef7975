"""Where every millisecond of a question goes, at three corpus sizes, against the encode floor.

Scales (each in the same run, each with its own floor measured alongside):
* the curated corpus;
* the curated corpus + 16k MedQuAD answers (the index `bench/medquad_distractors.py` builds in
  var/bench/medquad-index; built here if missing, which takes a long time);
* one million synthetic passages (--synthetic N): every passage of the MedQuAD index copied with
  its vector perturbed (Gaussian noise, cosine about 0.85 to the original, renormalised) and its
  text a shuffled sample of its own words, so BM25 postings and vector neighbourhoods look like
  real data. Only latency means anything there, not answer quality. The dense index is the same
  HNSW the builder makes above QA_ANN_THRESHOLD; its recall@10 against exact search is measured
  for several efSearch values.

Per question: normalise, embed, rankings (triage, dense and BM25; with an HNSW index triage and
BM25 run on a side thread during the dense search), fusion, compose (`qa.stage_clock`), with
the answer cache off, over the gold questions. The floor is the serving encoder's own time for the same
question (`embedder.encode([q])`), and the PyTorch model's for reference. A repeated question
(answer cache on) is timed too.

With an HNSW index one more figure: the FAISS query alone, timed right after the encode.

    python bench/stage_bench.py [--synthetic 1000000] [--repeat 2] [--write]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import faiss
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bench.engine_bench import percentile, timed_ms  # noqa: E402
from bench.report import replace_section  # noqa: E402
from qa.indexing.build import run_build  # noqa: E402
from qa.encoders import embedder_from_settings  # noqa: E402
from qa.encoders.torch_backend import SentenceTransformerEmbedder  # noqa: E402
from qa.engine import QAEngine  # noqa: E402
from qa.evaluation import read_gold  # noqa: E402
from qa.indexing import dense as dense_index  # noqa: E402
from qa.indexing.layout import LoadedIndex, load_index  # noqa: E402
from qa.indexing.row_facts import RowFacts  # noqa: E402
from qa.indexing.bm25 import LexicalIndex  # noqa: E402
from qa.indexing.passages import DECODED_CACHE_SIZE, PassageStore  # noqa: E402
from qa.settings import Settings  # noqa: E402
from qa.stage_clock import STAGES, StageClock  # noqa: E402

MEDQUAD = ROOT.parent / "shared" / "data" / "medquad" / "medquad.jsonl"


def engine_for(index: LoadedIndex, settings: Settings, embedder) -> QAEngine:
    """The production engine (triage included) on a given index."""
    return QAEngine.from_settings(settings, embedder=embedder, index=index)


def time_stages(engine: QAEngine, questions: list[str], repeat: int) -> dict:
    """Cold questions: the answer cache is off, so every ask encodes and retrieves."""
    raw = engine.embedder
    for question in questions[:20]:  # warm-up
        raw.encode([question])
        engine.ask(question)
    laps: dict[str, list[float]] = {stage: [] for stage in STAGES}
    floor, total = [], []
    for _ in range(repeat):
        for question in questions:
            floor.append(timed_ms(lambda: raw.encode([question])))
            clock = StageClock()
            total.append(timed_ms(lambda: engine.ask(question, clock=clock)))
            for stage, ms in clock.laps.items():
                laps[stage].append(ms)
    result = {"floor": floor, "total": total, "laps": laps, "passages": len(engine.index.passages)}
    if engine.retriever.overlap:
        result["faiss"] = time_faiss_alone(engine, questions, repeat)
    return result


def time_faiss_alone(engine: QAEngine, questions: list[str], repeat: int) -> list[float]:
    """The FAISS query alone, right after the model encoded the same question."""
    raw, times = engine.embedder, []
    for _ in range(repeat):
        for question in questions:
            vector = raw.encode([question])[0]
            times.append(timed_ms(
                lambda: engine.retriever.dense(vector, engine.retriever.params.candidates)))
    return times


def time_cache_hits(engine: QAEngine, questions: list[str]) -> list[float]:
    for question in questions:
        engine.ask(question)
    hits = []
    for question in questions:
        started = time.perf_counter()
        engine.ask(question)
        hits.append((time.perf_counter() - started) * 1000)
    return hits


def synthetic_index(base: LoadedIndex, size: int, settings: Settings, seed: int = 7) -> LoadedIndex:
    """`size` passages derived from `base` (see the module docstring), HNSW + BM25 built here."""
    rng = np.random.default_rng(seed)
    words_rng = random.Random(seed)
    n, dimension = base.embeddings.shape
    rows = np.arange(size) % n
    vectors = np.empty((size, dimension), dtype=np.float32)
    for start in range(0, size, 100_000):
        chunk = rows[start:start + 100_000]
        noisy = np.asarray(base.embeddings[chunk]) + rng.normal(0, 0.032, (len(chunk), dimension))
        vectors[start:start + len(chunk)] = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
    passages, texts = [], []
    for i, row in enumerate(rows):
        original = base.passages[row]
        words = original.text.split()
        text = " ".join(words_rng.sample(words, len(words))) if i >= n else original.text
        copy = replace(original, id=f"syn-{i}", document_id=f"syn-{i // 4}", text=text,
                       sentences=((0, len(text)),))
        passages.append(copy)
        texts.append(copy.embedding_text())
    started = time.perf_counter()
    lexical = LexicalIndex.build(texts)
    bm25_s = time.perf_counter() - started
    started = time.perf_counter()
    dense, info = dense_index.build(vectors, settings.ann_threshold, settings.hnsw_m,
                                    settings.hnsw_ef_construction)
    hnsw_s = time.perf_counter() - started
    print(f"synthetic: BM25 {bm25_s:.0f} s, HNSW {hnsw_s:.0f} s", flush=True)
    manifest = {"model": base.manifest["model"], "dense_index": info, "passages": size}
    # Each synthetic document's card is its first passage's vector (four passages a document).
    index = LoadedIndex(base.path, manifest, passages, vectors, dense, lexical,
                        RowFacts.of(passages, len(passages)), base.vocabulary, vectors[::4],
                        base.drug_names)
    index.build_seconds = {"bm25": bm25_s, "hnsw": hnsw_s}  # type: ignore[attr-defined]
    return index


def ann_recall(index: LoadedIndex, embedder, questions: list[str],
               ef_values: list[int]) -> list[dict]:
    """recall@10 of the HNSW index against exact inner-product search, and one-query latency
    timed right after the model encoded that question (the caches as the engine leaves them)."""
    queries = embedder.encode(questions)
    exact = faiss.IndexFlatIP(index.embeddings.shape[1])
    exact.add(index.embeddings)
    _, truth = exact.search(queries, 10)
    results = []
    for ef in ef_values:
        index.dense.hnsw.efSearch = ef
        _, found = index.dense.search(queries, 10)
        recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth)])
        times = []
        for question, query in zip(questions, queries):
            embedder.encode([question])
            started = time.perf_counter()
            index.dense.search(query[np.newaxis, :], 10)
            times.append((time.perf_counter() - started) * 1000)
        results.append({"ef": ef, "recall": float(recall), "p50": percentile(times, 50),
                        "p95": percentile(times, 95)})
    return results


def time_passage_decode(build: Path, samples: int = 2000) -> list[float]:
    """µs to read one passage from the mapped store on a cache miss (random rows, cache off):
    what a question pays per returned passage that is not among the recently decoded."""
    store = PassageStore.open(build / "passages.jsonl", cache_size=0)
    rows = random.Random(7).choices(range(len(store)), k=samples)
    times = []
    for row in rows:
        started = time.perf_counter()
        store[row]
        times.append((time.perf_counter() - started) * 1e6)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, default=ROOT / "eval" / "gold")
    parser.add_argument("--medquad", type=Path, default=MEDQUAD)
    parser.add_argument("--work", type=Path, default=ROOT / "var" / "bench")
    parser.add_argument("--synthetic", type=int, default=1_000_000, help="0 skips that scale")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()

    questions = [g.question for g in read_gold(args.gold)]
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(corpus=[ROOT / "corpus"], index_dir=Path(tmp) / "index",
                            answer_cache_size=0)
        embedder = embedder_from_settings(settings)
        torch_model = SentenceTransformerEmbedder(settings.model, settings.model_reference(),
                                                  threads=settings.model_thread_count())
        torch_floor = []
        for question in questions[:20] + questions:
            started = time.perf_counter()
            torch_model.encode([question])
            torch_floor.append((time.perf_counter() - started) * 1000)
        torch_floor = torch_floor[20:]
        del torch_model
        run_build(settings, embedder=embedder)
        engine = engine_for(load_index(settings.index_dir), settings, embedder)
        results["curated corpus"] = time_stages(engine, questions, args.repeat)
        cache_on = engine_for(engine.index, settings.model_copy(update={"answer_cache_size": 1024}),
                              embedder)
        cache_hits = time_cache_hits(cache_on, questions)

    medquad_index, decode_us = None, []
    if args.medquad.exists():
        mixed = Settings(corpus=[ROOT / "corpus", args.medquad],
                         index_dir=args.work / "medquad-index", answer_cache_size=0)
        run_build(mixed, embedder=embedder, if_needed=True, show_progress=True)
        medquad_index = load_index(mixed.index_dir)
        results["+ MedQuAD"] = time_stages(engine_for(medquad_index, mixed, embedder),
                                           questions, args.repeat)
        decode_us = time_passage_decode(medquad_index.path)

    ann: list[dict] = []
    synthetic_note = ""
    if args.synthetic and medquad_index is not None:
        big = synthetic_index(medquad_index, args.synthetic, settings)
        big.dense.hnsw.efSearch = settings.hnsw_ef_search
        label = f"{args.synthetic:,} synthetic"
        results[label] = time_stages(engine_for(big, settings, embedder), questions, 1)
        ann = ann_recall(big, embedder, questions, [64, 128, 256, 512, 1024])
        built = big.build_seconds  # type: ignore[attr-defined]
        synthetic_note = (f"Synthetic index built in memory: BM25 {built['bm25']:.0f} s, HNSW "
                          f"(half-precision vectors, M={settings.hnsw_m}, "
                          f"efConstruction={settings.hnsw_ef_construction}) "
                          f"{built['hnsw']:.0f} s; timed once per question.")

    text = report(results, torch_floor, cache_hits, ann, synthetic_note, settings, args.repeat,
                  decode_us)
    print(text)
    if args.write:
        replace_section(ROOT / "docs" / "benchmarks.md", "stages", text)


def report(results: dict, torch_floor: list[float], cache_hits: list[float], ann: list[dict],
           synthetic_note: str, settings: Settings, repeat: int, decode_us: list[float]) -> str:
    names = list(results)
    header = "| stage | " + " | ".join(f"{n}: p50 / p95 ms" for n in names) + " |"
    lines = [
        f"Machine: {os.cpu_count()} cores; backend `{settings.model_backend}`, "
        f"{settings.model_thread_count()} model threads; {len(results[names[0]]['total']) // repeat} "
        f"gold questions x {repeat} (x 1 at the synthetic scale), answer cache off; passages "
        f"read from the memory-mapped store with its cache of {DECODED_CACHE_SIZE:,} recently "
        f"decoded passages on, as in serving (the synthetic scale holds its passages in memory).",
        "",
        header,
        "| --- |" + " --- |" * len(names),
        "| passages | " + " | ".join(f"{results[n]['passages']:,}" for n in names) + " |",
    ]

    def cell(values: list[float]) -> str:
        return f"{percentile(values, 50):.2f} / {percentile(values, 95):.2f}" if values else "—"

    for stage in STAGES:
        lines.append(f"| {stage} | " + " | ".join(cell(results[n]["laps"][stage]) for n in names) + " |")
    lines.append("| **whole question** | " + " | ".join(f"**{cell(results[n]['total'])}**" for n in names) + " |")
    lines.append("| floor: encode only | " + " | ".join(cell(results[n]["floor"]) for n in names) + " |")
    lines.append("| whole ÷ floor (p50) | " + " | ".join(
        f"{percentile(results[n]['total'], 50) / percentile(results[n]['floor'], 50):.2f}"
        for n in names) + " |")
    if any("faiss" in results[n] for n in names):
        lines.append("| _FAISS query alone, after the encode_ | " + " | ".join(
            cell(results[n].get("faiss", [])) for n in names) + " |")
    lines += [
        "",
        f"Reference: the same model on PyTorch (sentence-transformers) encodes one question in "
        f"{percentile(torch_floor, 50):.2f} ms p50 ({percentile(torch_floor, 95):.2f} p95). "
        f"A repeated question from the answer cache: {percentile(cache_hits, 50) * 1000:.0f} µs "
        f"p50, {percentile(cache_hits, 95) * 1000:.0f} µs p95 (normalise + lookup).",
    ]
    if decode_us:
        lines[-1] += (f" A passage not in the decoded-passage cache is read from the mapped MedQuAD "
                      f"store in {percentile(decode_us, 50):.1f} µs p50 "
                      f"({percentile(decode_us, 95):.1f} p95); an answer reads at most "
                      f"{settings.top_k + 3}.")
    if ann:
        lines += ["", synthetic_note, "",
                  "| HNSW efSearch | recall@10 vs exact | one query p50 ms (after encoding) | p95 ms |",
                  "| --- | --- | --- | --- |"]
        lines += [f"| {a['ef']}{' (default)' if a['ef'] == settings.hnsw_ef_search else ''} | "
                  f"{a['recall']:.3f} | {a['p50']:.3f} | {a['p95']:.3f} |" for a in ann]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
