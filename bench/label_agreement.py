"""How far two independent labellers agree on a conversation batch, and what the retrieval
figure is against each of them.

Why: the follow-up and brand targets (hit@3 >= 90 % and >= 95 %) are measured against one
helper's labels. If a second labeller, given the same catalogue and documents, often chose other
documents, part of every miss would be a disagreement about the answer rather than a retrieval
failure, and the targets could not be reached. A second helper labels the same questions (the
full question of each chat, the generic form of each brand question) into
eval/conversation/audit/; this prints how often the two share a document and the shipped
retrieval's hit@3 against each. It reads only the labels and the top three documents, never
the cases' text on screen, so a fresh batch stays fresh. Figures go to docs/design.md.

    python bench/label_agreement.py --split blind33
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

AUDIT = ce.DATA / "audit"


def label_sets(path: Path) -> list[set[str]]:
    return [set(json.loads(line)["expected_documents"])
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def share(hits: int, total: int) -> str:
    from qa.evaluation import wilson_interval

    low, high = wilson_interval(hits, total)
    return f"{hits}/{total} = {hits / total:.3f} (95% CI {low:.3f}-{high:.3f})" if total else "-"


def compare(engine: object, questions: list[str | None], first: list[set[str]],
            second: list[set[str]]) -> list[str]:
    """Agreement of the two labellers and the system's hit@3 against each (None questions, the
    split emergencies, are left out)."""
    kept = [i for i, q in enumerate(questions) if q is not None]
    both = [i for i in kept if first[i] and second[i]]
    top = {i: set(ce.ranking(engine, str(questions[i]))[:3]) for i in kept}

    def hit(labels: list[set[str]], rows: list[int]) -> str:
        return share(sum(bool(labels[i] & top[i]) for i in rows), len(rows))

    return [
        f"questions {len(kept)}; no document answers, say both "
        f"{sum(not first[i] and not second[i] for i in kept)}, only the first "
        f"{sum(not first[i] and bool(second[i]) for i in kept)}, only the second "
        f"{sum(bool(first[i]) and not second[i] for i in kept)}",
        f"both name documents: {len(both)}; they share at least one "
        f"{share(sum(bool(first[i] & second[i]) for i in both), len(both))}",
        f"hit@3 against the first labeller  {hit(first, [i for i in kept if first[i]])}",
        f"hit@3 against the second labeller {hit(second, [i for i in kept if second[i]])}",
        f"hit@3 on the questions both labelled: first {hit(first, both)}; second "
        f"{hit(second, both)}; either {hit([a | b for a, b in zip(first, second)], both)}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=sorted(ce.SPLITS), required=True)
    parser.add_argument("--index", type=Path, default=ROOT / "index")
    args = parser.parse_args()
    from qa.engine import QAEngine
    from qa.settings import Settings

    folder, chats, brands = ce.SPLITS[args.split]
    engine = QAEngine.from_settings(Settings(index_dir=args.index))
    for kind, name, field in (("conversations", chats, "full_question"),
                              ("brands", brands, "generic_question")):
        audit = AUDIT / f"{kind}-{name}-second-labeller.jsonl"
        if name is None or not audit.exists():
            continue
        rows = [json.loads(line) for line in
                (ce.DATA / folder / f"{kind}-{name}.jsonl").read_text().splitlines() if line]
        questions: list[str | None] = [
            None if row.get("kind") == "split_emergency" else row[field] for row in rows]
        print(f"== {args.split} {kind}-{name} ({field})")
        first, second = label_sets(ce.LABELS / f"{kind}-{name}.jsonl"), label_sets(audit)
        for line in compare(engine, questions, first, second):
            print("  " + line)
        if kind == "brands":
            # The brand target is on the question as asked, with the brand name.
            asked: list[str | None] = [row["question"] for row in rows]
            print("  as asked, with the brand (question):")
            for line in compare(engine, asked, first, second)[2:4]:
                print("    " + line)


if __name__ == "__main__":
    main()
