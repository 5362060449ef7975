"""Follow-ups, misspellings and brand names on the blind sets (eval/conversation), with Wilson
95 % intervals. Every figure is document-level hit@3 on the fused ranking, as `qa eval` measures
the gold set; a case whose labeller found no answering document is left out.

* follow-ups: the chat's last message with its history, against the same question asked in full;
* misspellings: whether the misspelt question reaches the same top document as its correct
  spelling, and how often the speller changes a word of the correct spelling (a wrong
  correction, or a slip the writer left in it: an upper bound on the speller's false alarms);
* brands: hit@3 of the question naming the brand (labels are for the generic question);
* acronyms: hit@3 of the question naming conditions and treatments by their abbreviations
  (labels are for the question written out), beside the written-out question's;
* split emergencies: whether a chat whose urgent detail is spread over its messages gets the
  emergency card or flag, and how often a look-alike chat with nothing urgent now
  (`not_emergency`) gets them.

Runs on older versions of the code too (without `history`, a follow-up is asked as typed), so a
figure before a change and after it come from the same script:

    python bench/conversation_eval.py [--index index] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
DATA = ROOT / "eval" / "conversation"
LABELS = DATA / "labels"
# split name -> (folder, chats' writer, brand and misspelling writer; None: no such file); the
# blind splits are measured only, the "dev" ones tune.
SPLITS = {"blind": ("blind", "E", "F"), "blind2": ("blind2", "J", "J"),
          "blind3": ("blind3", "P", "Q"), "blind4": ("blind4", "U", "V"),
          "blind5": ("blind5", "CA", "CB"), "blind6": ("blind6", "CD", "CC"),
          "blind7": ("blind7", None, "CE"), "blind8": ("blind8", None, "CF"),
          "blind9": ("blind9", "CG", None), "blind10": ("blind10", None, "CH"),
          "blind11": ("blind11", "CI", None), "blind12": ("blind12", None, "CJ"),
          "blind13": ("blind13", "CK", None), "blind14": ("blind14", None, "CL"),
          "blind15": ("blind15", "CN", "CM"),
          "blind16": ("blind16", None, "CO"),
          "blind17": ("blind17", None, "CP"),
          "blind18": ("blind18", "CQ", None),
          "blind19": ("blind19", None, "CR"),
          "blind20": ("blind20", None, "CS"),
          "blind21": ("blind21", "CT", None),
          "blind22": ("blind22", None, "CU"),
          "blind23": ("blind23", "CV", None),
          "blind24": ("blind24", "CY", "CX"),
          "blind25": ("blind25", None, "CZ"),
          "blind26": ("blind26", None, "DA"),
          "blind27": ("blind27", "DB", None),
          "blind28": ("blind28", "DC", "DD"),
          "blind29": ("blind29", "DE", "DF"),
          "blind30": ("blind30", "DG", None),
          "blind31": ("blind31", "DH", None),
          "blind32": ("blind32", "DI", "DJ"),
          "blind33": ("blind33", "DK", "DL"),
          "blind34": ("blind34", "DM", "DN"),
          "blind35": ("blind35", "DO", "DP"),
          "blind36": ("blind36", None, "DQ"),
          "blind37": ("blind37", None, "DR"),
          "blind38": ("blind38", None, "DS"),
          "blind39": ("blind39", None, "DT"),
          "blind40": ("blind40", None, "DU"),
          "blind41": ("blind41", None, "DV"),
          "blind42": ("blind42", None, "DW"),
          "blind43": ("blind43", None, "DX"),
          "blind44": ("blind44", None, "DY"),
          "blind45": ("blind45", None, "DZ"),
          "blind46": ("blind46", None, "EA"),
          "blind47": ("blind47", None, "ED"),
          "blind48": ("blind48", None, "EE"),
          "blind49": ("blind49", "EF", None),
          "blind50": ("blind50", None, "EG"),
          "blind51": ("blind51", None, "EH"),
          "blind52": ("blind52", None, "EI"),
          "blind53": ("blind53", None, "EJ"),
          "blind54": ("blind54", None, "EK"),
          "blind55": ("blind55", None, "EL"),
          "blind56": ("blind56", None, "EM"),
          "blind57": ("blind57", "EN", None),
          "blind58": ("blind58", None, "EO"),
          "blind59": ("blind59", None, "EP"),
          "blind60": ("blind60", None, "EQ"),
          "blind61": ("blind61", None, "ER"),
          "blind62": ("blind62", None, "ES"),
          "blind63": ("blind63", None, "EU"),
          "blind64": ("blind64", None, "EW"),
          "blind65": ("blind65", None, "EX"),
          "dev-spelling": ("dev", None, "K"),
          "dev-swipe": ("dev", None, "EB"),
          "dev-tablet": ("dev", None, "EC"),
          "dev-dictation": ("dev", None, "ET"),
          "dev-emergencies": ("dev", "CW", None),
          "dev": ("dev", "H", "H")}


def cases(folder: str, name: str | None) -> list[dict]:
    if name is None or not (DATA / folder / name).exists():
        return []
    path = DATA / folder / name
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    labelled = LABELS / name
    if not labelled.exists():
        # Misspellings are measured against the correct spelling's own ranking, emergency-only
        # chats by the reply's kind: neither needs labels.
        return rows
    labels = [json.loads(line) for line in labelled.read_text().splitlines() if line.strip()]
    assert len(rows) == len(labels), name
    for row, label in zip(rows, labels):
        row["expected_documents"] = label["expected_documents"]
    return rows


def ranking(engine, question: str, history: list[str] | None = None) -> list[str]:
    try:
        ranked = engine.rank_documents(question, k=10, history=history or [])
    except TypeError:  # a version of the engine without conversation support
        ranked = engine.rank_documents(question, k=10)
    return [doc for doc, _ in ranked]


def twin_hits(engine, rows: list[dict], twin: str, show: str | None) -> tuple[dict, dict]:
    """hit@3 of each labelled question as asked (naming a brand, or an acronym) and of its twin
    (the generic or written-out question), which the labels were made on; misses printed with
    `show` as their kind."""
    hits = hits_twin = n = 0
    for case in rows:
        if not case["expected_documents"]:
            continue
        expected = set(case["expected_documents"])
        top = ranking(engine, case["question"])[:3]
        n += 1
        hits += bool(expected & set(top))
        if show and not expected & set(top):
            print(f"MISS {show}", case["question"], "| expected", case["expected_documents"],
                  "got", top)
        hits_twin += bool(expected & set(ranking(engine, case[twin])[:3]))
    return proportion(hits, n), proportion(hits_twin, n)


def proportion(hits: int, total: int) -> dict:
    from qa.evaluation import wilson_interval

    low, high = wilson_interval(hits, total)
    return {"hits": hits, "total": total, "value": hits / total if total else None,
            "ci95": [round(low, 4), round(high, 4)]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=ROOT / "index")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--split", choices=sorted(SPLITS), default="blind")
    parser.add_argument("--show-misses", action="store_true", help="print failing cases "
                        "(only for the dev splits: never look at a blind split's cases)")
    args = parser.parse_args()
    folder, chats, spelling = SPLITS[args.split]
    show = args.show_misses and args.split.startswith("dev")
    sys.path.insert(0, os.getcwd())
    from qa.engine import QAEngine
    from qa.settings import Settings

    engine = QAEngine.from_settings(Settings(index_dir=args.index))
    result: dict[str, dict] = {}

    by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    followed = full = total = 0
    for case in cases(folder, chats and f"conversations-{chats}.jsonl"):
        if not case.get("expected_documents") or case["kind"] == "split_emergency":
            continue
        expected = set(case["expected_documents"])
        hit = bool(expected & set(ranking(engine, case["question"], case["history"])[:3]))
        hit_full = bool(expected & set(ranking(engine, case["full_question"])[:3]))
        total += 1
        followed += hit
        if show and not hit:
            print("MISS follow-up", case["kind"], case["history"], "|", case["question"], "->",
                  engine.understand(case["question"], case["history"]).text, "| expected",
                  case["expected_documents"], "got", ranking(engine, case["question"],
                                                             case["history"])[:3])
        full += hit_full
        counts = by_kind[case["kind"]]
        counts[0] += hit
        counts[1] += hit_full
        counts[2] += 1
    result["follow-ups hit@3"] = proportion(followed, total)
    result["same questions asked in full hit@3"] = proportion(full, total)
    for kind, (hits, hits_full, n) in sorted(by_kind.items()):
        result[f"follow-ups hit@3 [{kind}]"] = proportion(hits, n)
        result[f"asked in full hit@3 [{kind}]"] = proportion(hits_full, n)

    alarms: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for case in cases(folder, chats and f"conversations-{chats}.jsonl"):
        if case["kind"] in ("split_emergency", "not_emergency"):
            reply = engine.ask(case["question"], case["history"])
            alarmed = reply.kind == "emergency" or "emergency" in reply.flags
            if show and alarmed != (case["kind"] == "split_emergency"):
                print("MISS", case["kind"], case["history"], "|", case["question"], "->",
                      reply.kind, reply.flags)
            for key in (case["kind"], f"{case['kind']} [{case.get('order', '')}]"):
                alarms[key][0] += alarmed
                alarms[key][1] += 1
    hits, n = alarms["split_emergency"]
    result["split emergencies recognised"] = proportion(hits, n)
    for order in ("context_first", "symptom_first", "emergency_earlier"):
        hits, n = alarms[f"split_emergency [{order}]"]
        result[f"split emergencies recognised [{order}]"] = proportion(hits, n)
    hits, n = alarms["not_emergency"]
    result["look-alike chats given the emergency card or flag"] = proportion(hits, n)

    same = changed = n = 0
    for case in cases(folder, spelling and f"misspellings-{spelling}.jsonl"):
        typed, correct = ranking(engine, case["question"]), ranking(engine, case["correct"])
        n += 1
        same += bool(typed and correct and typed[0] == correct[0])
        if show and not (typed and correct and typed[0] == correct[0]):
            print("MISS spelling", case["question"], "->", engine.understand(case["question"]).text)
        corrected = engine.understand(case["correct"]).corrections
        changed += bool(corrected)
        if show and corrected:
            print("CHANGED correct spelling", case["correct"], "->", corrected)
    result["misspelt: same top document as the correct spelling"] = proportion(same, n)
    result["correct spellings the speller changed"] = proportion(changed, n)

    for kind, twin, labels in (("brand", "generic_question", ("brand-name questions",
                                 "same questions with the generic name")),
                               ("acronym", "full_question", ("acronym questions",
                                 "same questions written out"))):
        asked, twinned = twin_hits(engine, cases(folder, spelling and f"{kind}s-{spelling}.jsonl"),
                                   twin, kind if show else None)
        result[f"{labels[0]} hit@3"] = asked
        result[f"{labels[1]} hit@3"] = twinned

    for name, value in result.items():
        if not value["total"]:
            continue
        low, high = value["ci95"]
        print(f"{name:58s} {value['value']:.3f} ({value['hits']}/{value['total']}; "
              f"95% CI {low:.3f}-{high:.3f})")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
