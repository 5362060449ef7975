"""How often the speller changes correctly spelt text: every question of the gold set and the
correct forms of the conversation batches (a misspelling's correct spelling, a brand question's
generic wording, a follow-up asked in full). Each change is a false alarm or a slip the writer
left in; the list shows which. With `--without-medical-words` the speller runs without its
medical word list, so the list's effect is one run apart:

    python bench/speller_false_alarms.py [--index index] [--without-medical-words]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
CORRECT_FIELDS = ("correct", "generic_question", "full_question")


def correct_texts() -> list[str]:
    texts = []
    for path in sorted((ROOT / "eval" / "gold").glob("*.jsonl")):
        texts += [json.loads(line).get("question", "") for line in path.open(encoding="utf-8")
                  if line.strip()]
    for path in sorted((ROOT / "eval" / "conversation").glob("*/*.jsonl")):
        for line in path.open(encoding="utf-8"):
            row = json.loads(line) if line.strip() else {}
            texts += [row[field] for field in CORRECT_FIELDS if row.get(field)]
    return [t for t in texts if t]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=ROOT / "index")
    parser.add_argument("--without-medical-words", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from qa.engine import QAEngine
    from qa.settings import Settings

    speller = QAEngine.from_settings(Settings(index_dir=args.index)).speller
    if args.without_medical_words:
        speller._medical = frozenset()
    texts = correct_texts()
    changes: Counter[tuple[str, str]] = Counter()
    changed = 0
    for text in texts:
        corrections = speller.correct(text)[1]
        changed += bool(corrections)
        changes.update((c.typed.lower(), c.corrected) for c in corrections)
    print(f"{len(texts)} correctly spelt questions; {changed} changed, {sum(changes.values())} "
          f"words changed ({'without' if args.without_medical_words else 'with'} the medical "
          "word list)")
    for (typed, corrected), n in sorted(changes.items(), key=lambda item: (-item[1], item[0])):
        print(f"  {n:3d}  {typed} -> {corrected}")


if __name__ == "__main__":
    main()
