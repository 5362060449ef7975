"""Every reply to every evaluation message, before and after a change: what moved, by group.

A change to spelling, retrieval or triage is measured on its own sets, but those can hide what
it does elsewhere: a speller trial that helped the misspelling sets "corrected" one ordinary
triage training message in a hundred, nearly all wrongly (docs/design.md, fifth session of
2026-12-03). This script asks the engine every message the evaluation folders hold (gold
questions; conversation cases' questions, full questions, correct spellings and generic
questions; triage messages) and compares two such dumps field by field.

    python bench/reply_diff.py dump --out before.jsonl     # in the old checkout
    python bench/reply_diff.py dump --out after.jsonl      # in the new one
    python bench/reply_diff.py compare before.jsonl after.jsonl

`--groups gold` (or conversation, triage) dumps a part, for a quick look; about 40,000 messages
take some minutes on two cores.

The comparison counts changed replies per group and field, and lists the changed corrections of
development and training messages only: a blind split's texts are never printed.
"""

from __future__ import annotations

import argparse
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "eval"
CASE_KEYS = ("question", "full_question", "correct", "generic_question", "misspelt")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def messages() -> list[dict[str, Any]]:
    """Every message with where it comes from (group, split, file, key)."""
    found: list[dict[str, Any]] = []
    for path in sorted((EVAL / "gold").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                found.append(_message("gold", "gold", path, "question", json.loads(line)["question"]))
    for path in sorted((EVAL / "conversation").glob("*/*.jsonl")):
        split = path.parent.name
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            case = json.loads(line)
            for key in CASE_KEYS:
                if isinstance(case.get(key), str):
                    history = case.get("history", []) if key == "question" else []
                    found.append(_message("conversation", split, path, key, case[key], history))
    for path in sorted((EVAL / "triage").glob("*/*.jsonl")):
        split = path.parent.name
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                case = json.loads(line)
                found.append(_message("triage", split, path, "text", case["text"],
                                      case.get("history", [])))
    return found


def _message(group: str, split: str, path: Path, key: str, text: str,
             history: list[str] | None = None) -> dict[str, Any]:
    return {"group": group, "split": split, "file": str(path.relative_to(ROOT)), "key": key,
            "text": text, "history": list(history or [])[-6:]}


def dump(out: Path, index: Path | None, groups: list[str]) -> None:
    from qa.engine import QAEngine
    from qa.settings import Settings

    settings = Settings(answer_cache_size=0)
    if index is not None:
        settings = settings.model_copy(update={"index_dir": index})
    engine = QAEngine.from_settings(settings)
    with out.open("w", encoding="utf-8") as handle:
        for message in messages():
            if message["group"] not in groups:
                continue
            reply = engine.ask(message["text"], history=message["history"]).to_json()
            reply.pop("took_ms", None)
            for quote in reply.get("quotes", []):
                quote.pop("score", None)  # float noise, not a decision
            handle.write(json.dumps({"source": {k: message[k] for k in ("group", "split", "file",
                                                                          "key")},
                                     "reply": reply}, sort_keys=True) + "\n")


FIELDS = ("kind", "triage", "flags", "corrections", "understood_as", "message")


def compare(before: Path, after: Path, show: int) -> None:
    for path in (before, after):
        if not path.is_file():
            raise SystemExit(f"error: no dump at {path}; make one with `reply_diff.py dump`")
    old = [json.loads(line) for line in before.read_text(encoding="utf-8").splitlines()]
    new = [json.loads(line) for line in after.read_text(encoding="utf-8").splitlines()]
    if len(old) != len(new):
        raise SystemExit(f"error: the dumps hold {len(old)} and {len(new)} replies; dump both "
                         "with the same evaluation folders")
    changed: Counter[tuple[str, str]] = Counter()
    by_field: Counter[tuple[str, str]] = Counter()
    shown = 0
    for i, (was, now) in enumerate(zip(old, new)):
        source = was["source"]
        if source != now["source"]:
            raise SystemExit(f"error: reply {i + 1} comes from different messages in the dumps")
        group = source["group"] + (" (blind)" if source["split"].startswith("blind") else "")
        a, b = was["reply"], now["reply"]
        fields = [f for f in FIELDS if a.get(f) != b.get(f)]
        if [q["passage_id"] for q in a["quotes"]] != [q["passage_id"] for q in b["quotes"]]:
            fields.append("quoted passages")
        if a["quotes"] != b["quotes"] and "quoted passages" not in fields:
            fields.append("highlights")
        if not fields:
            continue
        changed[(group, source["key"])] += 1
        for field in fields:
            by_field[(group, field)] += 1
        if "corrections" in fields and not source["split"].startswith("blind") and shown < show:
            shown += 1
            print(f"  {source['file']}: {a.get('corrections')} -> {b.get('corrections')}")
    print(f"{len(old)} replies; {sum(changed.values())} changed")
    for (group, key), count in sorted(changed.items()):
        print(f"  {group:<22} {key:<18} {count}")
    print("changed fields:")
    for (group, field), count in sorted(by_field.items()):
        print(f"  {group:<22} {field:<18} {count}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    dumping = commands.add_parser("dump")
    dumping.add_argument("--out", type=Path, required=True)
    dumping.add_argument("--index", type=Path)
    dumping.add_argument("--groups", nargs="+", default=["gold", "conversation", "triage"],
                         choices=["gold", "conversation", "triage"])
    comparing = commands.add_parser("compare")
    comparing.add_argument("before", type=Path)
    comparing.add_argument("after", type=Path)
    comparing.add_argument("--show", type=int, default=40,
                           help="changed corrections to list (development and training only)")
    args = parser.parse_args()
    if args.command == "dump":
        dump(args.out, args.index, args.groups)
    else:
        compare(args.before, args.after, args.show)


if __name__ == "__main__":
    main()
