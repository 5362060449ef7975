"""Calibrate the abstention threshold (QA_MIN_SCORE) on one half of the gold set, report it on
the other.

For every gold question it records the evidence strength the engine abstains on
(`QAEngine.evidence`: the best cosine similarity of a retrieved passage, or its similarity to a
concept the question names in words the library never uses, when BM25 found it through that
concept's expansion). The gold questions are split in two by a hash of their id: the calibration
half picks the highest threshold that answers no off-topic question there, and the held-out half
reports what that threshold does on questions it was not chosen on. Safety triage is NOT applied:
the threshold must hold on its own, as the second line of defence.

    python bench/calibrate_threshold.py [--gold eval/gold] [--index index]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from qa.engine import EXTRA_FOR_RELATED, QAEngine  # noqa: E402
from qa.evaluation import read_gold  # noqa: E402
from qa.settings import Settings  # noqa: E402

THRESHOLDS = np.round(np.arange(0.20, 0.56, 0.01), 2)


def held_out(qid: str) -> bool:
    return int(hashlib.sha256(qid.encode()).hexdigest(), 16) % 2 == 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, default=Path("eval/gold"))
    parser.add_argument("--index", type=Path, default=Path("index"))
    args = parser.parse_args()
    engine = QAEngine.from_settings(Settings(index_dir=args.index))
    k = engine.settings.top_k + EXTRA_FOR_RELATED
    strengths: dict[tuple[bool, bool], list[float]] = {}
    for item in read_gold(args.gold):
        query = engine.query(item.question)
        hits = engine.retriever.search(query, k)
        lexical = engine.retriever.lexical(query, engine.retriever.params.candidates)
        key = (held_out(item.qid), item.off_topic)
        strengths.setdefault(key, []).append(engine.evidence(hits, query, lexical))
    calibration_in = np.array(strengths[(False, False)])
    calibration_off = np.array(strengths[(False, True)])
    safe = [t for t in THRESHOLDS if not np.any(calibration_off >= t)]
    chosen = min(safe) if safe else THRESHOLDS[-1]
    print(f"calibration half: {len(calibration_in)} in-scope, {len(calibration_off)} off-topic; "
          f"lowest threshold answering no off-topic question: {chosen:.2f}")
    for name, half in (("calibration", False), ("held-out", True)):
        inside = np.array(strengths[(half, False)])
        outside = np.array(strengths[(half, True)])
        for threshold in sorted({chosen, engine.settings.min_score}):
            print(f"  {name:11s} threshold {threshold:.2f}: in-scope abstained "
                  f"{np.mean(inside < threshold):.3f} ({int(np.sum(inside < threshold))}/"
                  f"{len(inside)}), off-topic answered {np.mean(outside >= threshold):.3f} "
                  f"({int(np.sum(outside >= threshold))}/{len(outside)})")


if __name__ == "__main__":
    main()
