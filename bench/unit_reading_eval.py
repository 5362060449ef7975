"""Whether "MG" is read as myasthenia gravis where it names it, and as nothing where it is the
unit ("20 mg of pred"), on messages written blind (eval/units), with Wilson 95 % intervals.

Each message carries its writer's own word on whether it is about myasthenia gravis
(`about_myasthenia`), so no labeller is needed. Two readings of the engine's reply are counted:

* the concept: whether the reply's `concepts` name myasthenia gravis (what follow-ups carry
  forward, and what the word search and dense wording expanded);
* the first quote: whether the first passage quoted comes from the myasthenia gravis document.

Runs on older versions of the code too, so the figure before a change and after it come from the
same script:

    python bench/unit_reading_eval.py --split blind66 [--index index]
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "eval" / "units"
CONCEPT = "myasthenia gravis"
DOCUMENT = "myasthenia-gravis-stem-cells"
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def tally(ask: Callable[[str], Any], cases: list[dict[str, Any]]) -> dict[bool, list[int]]:
    """By what the writer meant (`about_myasthenia`): [messages, replies naming the condition,
    replies whose first quote comes from its document]."""
    counts = {True: [0, 0, 0], False: [0, 0, 0]}
    for case in cases:
        reply = ask(case["question"])
        row = counts[bool(case["about_myasthenia"])]
        row[0] += 1
        row[1] += CONCEPT in reply.concepts
        row[2] += bool(reply.quotes) and reply.quotes[0].source.document_id == DOCUMENT
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=ROOT / "index")
    parser.add_argument("--split", required=True,
                        choices=sorted(p.name for p in DATA.iterdir() if p.is_dir()))
    args = parser.parse_args()

    from qa.engine import QAEngine
    from qa.evaluation import wilson_interval
    from qa.settings import Settings

    engine = QAEngine.from_settings(Settings(index_dir=args.index, answer_cache_size=0))
    cases = [json.loads(row) for path in sorted((DATA / args.split).glob("*.jsonl"))
             for row in path.read_text(encoding="utf-8").splitlines() if row.strip()]
    counts = tally(engine.ask, cases)

    def report(label: str, hits: int, total: int) -> None:
        low, high = wilson_interval(hits, total)
        print(f"{label:<62} {hits / total if total else float('nan'):.3f} "
              f"({hits}/{total}; 95% CI {low:.3f}-{high:.3f})")

    about, other = counts[True], counts[False]
    report("about myasthenia gravis: the reply names the condition", about[1], about[0])
    report("about myasthenia gravis: first quote from its document", about[2], about[0])
    report("dose talk, not about it: the condition named (want 0)", other[1], other[0])
    report("dose talk, not about it: first quote from its document (want 0)", other[2], other[0])


if __name__ == "__main__":
    main()
