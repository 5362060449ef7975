"""Brand-name questions of every batch pooled: hit@3 of the question as asked, with Wilson 95 %
intervals, split into the development pool and the batches never read.

Why: the issue's brand target (>= 95 %) is judged on all batches together, each against labels
made on the present library, and a figure quoted in docs/ must come from a committed script.
The eleven oldest batches were labelled before the medicines documents existed, so they are
scored against their second labeller (eval/conversation/audit/); with blind 25 and 39, which were
read after their measure, they are the development pool, the only batches whose misses may be
printed (`--show-misses`). Every other batch is scored, never shown.

    python bench/brand_pool.py [--index index] [--show-misses]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench import conversation_eval as ce  # noqa: E402

# Batches read after they were measured (docs/design.md): tuning may look at these.
DEVELOPMENT_POOL = frozenset({"blind", "blind2", "blind3", "blind4", "blind5", "blind6",
                              "blind14", "blind15", "blind20", "blind22", "blind24", "blind25",
                              "blind39"})


def batches() -> list[tuple[str, Path, Path]]:
    """(split, questions, labels) of every labelled brand batch, oldest first."""
    found = []
    for split, (folder, _, writer) in ce.SPLITS.items():
        questions = ce.DATA / folder / f"brands-{writer}.jsonl"
        if not split.startswith("blind") or writer is None or not questions.exists():
            continue
        second = ce.DATA / "audit" / f"brands-{writer}-second-labeller.jsonl"
        labels = second if split in DEVELOPMENT_POOL and second.exists() \
            else ce.LABELS / f"brands-{writer}.jsonl"
        if labels.exists():
            found.append((split, questions, labels))
    return found


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=ROOT / "index")
    parser.add_argument("--show-misses", action="store_true",
                        help="print the development pool's misses (never another batch's)")
    args = parser.parse_args()
    from qa.engine import QAEngine
    from qa.settings import Settings

    engine = QAEngine.from_settings(Settings(index_dir=args.index))
    totals = {"development pool": [0, 0], "never read": [0, 0]}
    for split, questions, labels in batches():
        rows, expected = read_lines(questions), read_lines(labels)
        if len(rows) != len(expected):
            raise SystemExit(f"{labels}: {len(expected)} labels for {len(rows)} questions")
        hits = total = 0
        for row, label in zip(rows, expected):
            documents = set(label["expected_documents"])
            if not documents:
                continue
            top = ce.ranking(engine, row["question"])[:3]
            hit = bool(documents & set(top))
            hits, total = hits + hit, total + 1
            if args.show_misses and split in DEVELOPMENT_POOL and not hit:
                print(f"MISS {split}: {row['question']}\n  got {top}\n  expected "
                      f"{sorted(documents)}")
        group = totals["development pool" if split in DEVELOPMENT_POOL else "never read"]
        group[0], group[1] = group[0] + hits, group[1] + total
        print(f"{split:10s} {ce.proportion(hits, total)['value']:.3f} ({hits}/{total})")
    every = [sum(g[0] for g in totals.values()), sum(g[1] for g in totals.values())]
    for name, (hits, total) in [*totals.items(), ("all batches", every)]:
        share = ce.proportion(hits, total)
        low, high = share["ci95"]
        print(f"{name:18s} {share['value']:.3f} ({hits}/{total}; 95% CI {low:.3f}-{high:.3f})")


if __name__ == "__main__":
    main()
