"""Calibrate the abstention threshold (QA_MIN_SCORE) on the gold set.

For every gold question it records the evidence strength the engine abstains on
(`qa.engine.evidence_strength` of the passages `QAEngine.retrieve` returns), then prints, for candidate thresholds, how many in-scope questions would
be wrongly abstained and how many off-topic ones would be answered. Safety triage is NOT applied
here: the threshold must hold on its own, as the second line of defence.

    python bench/calibrate_threshold.py [--gold eval/gold] [--index index]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from qa.engine import EXTRA_FOR_RELATED, QAEngine, evidence_strength  # noqa: E402
from qa.evaluation import read_gold  # noqa: E402
from qa.settings import Settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, default=Path("eval/gold"))
    parser.add_argument("--index", type=Path, default=Path("index"))
    args = parser.parse_args()
    engine = QAEngine.from_settings(Settings(index_dir=args.index))
    gold = read_gold(args.gold)
    inside, outside = [], []
    for item in gold:
        best = evidence_strength(engine.search(item.question,
                                               engine.settings.top_k + EXTRA_FOR_RELATED))
        (outside if item.off_topic else inside).append(best)
    inside_a, outside_a = np.array(inside), np.array(outside)
    print(f"in-scope questions: {len(inside_a)}  off-topic questions: {len(outside_a)}")
    for name, values in (("in-scope", inside_a), ("off-topic", outside_a)):
        q = np.percentile(values, [0, 5, 25, 50, 75, 95, 100])
        print(f"{name:>9} best cosine  min {q[0]:.3f}  p5 {q[1]:.3f}  p25 {q[2]:.3f}  "
              f"median {q[3]:.3f}  p75 {q[4]:.3f}  p95 {q[5]:.3f}  max {q[6]:.3f}")
    print("\nthreshold  in-scope wrongly abstained  off-topic answered")
    for threshold in np.arange(0.20, 0.56, 0.025):
        wrong = float(np.mean(inside_a < threshold))
        leaked = float(np.mean(outside_a >= threshold))
        print(f"   {threshold:.3f}   {wrong:24.3f}   {leaked:18.3f}")


if __name__ == "__main__":
    main()
