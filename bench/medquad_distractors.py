"""Does the curated corpus still win when 16k unrelated NIH answers are mixed in?

Builds two indexes with the production settings — the curated corpus alone, and the corpus plus
the MedQuAD answers from ../shared/data/medquad/ — and evaluates the gold set on both. The index
with distractors is kept under var/bench/ so a re-run only embeds what changed.

    python bench/medquad_distractors.py [--medquad ../shared/data/medquad/medquad.jsonl] [--write]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bench.report import replace_section  # noqa: E402
from qa.indexing.build import run_build  # noqa: E402
from qa.encoders import embedder_from_settings  # noqa: E402
from qa.engine import QAEngine  # noqa: E402
from qa.evaluation import evaluate_gold, read_gold  # noqa: E402
from qa.settings import Settings  # noqa: E402


def evaluate(settings: Settings, embedder, gold) -> tuple[dict, dict]:
    started = time.perf_counter()
    report = run_build(settings, embedder=embedder, show_progress=True)
    build_s = time.perf_counter() - started
    engine = QAEngine.from_settings(settings, embedder=embedder)
    summary = evaluate_gold(engine, gold).summary()
    return summary, {"documents": report.documents, "passages": report.passages,
                     "re_embedded": report.re_embedded, "build_s": build_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--medquad", type=Path,
                        default=ROOT.parent / "shared" / "data" / "medquad" / "medquad.jsonl")
    parser.add_argument("--gold", type=Path, default=ROOT / "eval" / "gold")
    parser.add_argument("--work", type=Path, default=ROOT / "var" / "bench")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    if not args.medquad.exists():
        sys.exit(f"error: MedQuAD file not found: {args.medquad}")

    gold = read_gold(args.gold)
    base = Settings(corpus=[ROOT / "corpus"], index_dir=args.work / "corpus-index")
    mixed = Settings(corpus=[ROOT / "corpus", args.medquad], index_dir=args.work / "medquad-index")
    embedder = embedder_from_settings(base)
    rows = []
    for name, settings in (("curated corpus", base), ("corpus + MedQuAD", mixed)):
        summary, build = evaluate(settings, embedder, gold)
        rows.append((name, summary, build))
        print(name, summary, build, flush=True)

    (_, clean, _), (_, noisy, _) = rows
    drop = (clean["hit_at_3"] - noisy["hit_at_3"]) * 100
    lines = ["| index | documents | passages | hit@1 | hit@3 | MRR@10 | nDCG@10 | in-scope abstained | off-topic abstained |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, s, b in rows:
        lines.append(f"| {name} | {b['documents']} | {b['passages']} | {s['hit_at_1']:.3f} | "
                     f"{s['hit_at_3']:.3f} | {s['mrr_at_10']:.3f} | {s['ndcg_at_10']:.3f} | "
                     f"{s['in_scope_abstained']:.3f} | {s['off_topic_abstained']:.3f} |")
    lines += ["", f"hit@3 drop with distractors: {drop:.1f} points (target: at most 3 points).",
              f"Gold set: {clean['in_scope']} in-scope and {clean['off_topic']} off-topic questions."]
    if noisy["off_topic_answered"]:
        lines.append("Off-topic questions answered with distractors present: "
                     + ", ".join(noisy["off_topic_answered"]) + ".")
    text = "\n".join(lines)
    print(text)
    if args.write:
        replace_section(ROOT / "docs" / "benchmarks.md", "medquad", text)


if __name__ == "__main__":
    main()
