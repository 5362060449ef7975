"""What a chat turn costs when triage reads the earlier messages again (docs/safety.md, "An
emergency told earlier in a chat"), against a single question.

Each gold question is asked three ways, answer cache off for the answers themselves:
* alone (no history);
* after the previous gold question, on a worker that answered that one moments before (its
  embedding is in the worker's in-memory cache of recent messages: the usual case);
* after the previous two gold questions, on a worker that never saw them (they are encoded in
  the same batch as the new message: a chat moved to another worker, or a restarted one).

Printed, not written; docs/benchmarks.md quotes the figures.

    python bench/chat_turn_bench.py [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    from qa.cache import BoundedLRU
    from qa.engine import QAEngine
    from qa.evaluation import read_gold
    from qa.settings import Settings

    # The answer cache is emptied before every ask (each is answered afresh); the cache of
    # recent messages' embeddings is what the warm and cold turns differ in.
    engine = QAEngine.from_settings(Settings(index_dir=ROOT / "index", answer_cache_size=64))
    questions = [g.question for g in read_gold(ROOT / "eval" / "gold") if not g.history]
    timings: dict[str, list[float]] = {"alone": [], "warm": [], "cold": []}
    for _ in range(args.repeat):
        for number in range(2, len(questions)):
            earlier, question = questions[number - 2:number], questions[number]
            for name, history in (("alone", []), ("warm", earlier[-1:]), ("cold", earlier)):
                engine.answers = BoundedLRU(0)  # no cached answers
                if name == "warm":
                    engine.ask(earlier[-1])  # its turn, moments before: its vector is kept
                if name == "cold":
                    engine.message_vectors = BoundedLRU(64)  # a new worker
                started = time.perf_counter()
                engine.ask(question, history)
                timings[name].append((time.perf_counter() - started) * 1000)
    print(f"{len(questions) - 2} gold questions x {args.repeat}, curated corpus")
    for name, label in (("alone", "a question alone"),
                        ("warm", "after one earlier message this worker saw"),
                        ("cold", "after two earlier messages this worker never saw")):
        values = timings[name]
        print(f"{label:52s} p50 {statistics.median(values):6.2f} ms  "
              f"p95 {percentile(values, 0.95):6.2f} ms")


if __name__ == "__main__":
    main()
