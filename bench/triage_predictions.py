"""Run the assistant over labelled triage messages and write one prediction line per message.

Used to record the blind split's figure for a given version of the code, including versions
older than `qa triage eval` (run it with that version's checkout first on PYTHONPATH):

    python bench/triage_predictions.py eval/triage/blind/*.jsonl --index index --out preds.jsonl

Each output line: the message's labels plus `kind`, `category` and `flags` of the reply. Scoring
is `qa triage eval --predictions preds.jsonl` (qa/evaluation.py), so every version is scored by
the same code.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--index", type=Path, default=Path("index"))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    from qa.engine import QAEngine
    from qa.settings import Settings

    engine = QAEngine.from_settings(Settings(index_dir=args.index))
    with args.out.open("w", encoding="utf-8") as out:
        for path in args.files:
            for line in path.read_text(encoding="utf-8").splitlines():
                if not line.strip():
                    continue
                case = json.loads(line)
                answer = engine.ask(case["text"])
                case.update(kind=answer.kind, predicted=answer.triage.category,
                            flags=list(answer.flags), reason=answer.triage.reason)
                out.write(json.dumps(case, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
