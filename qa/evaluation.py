"""Gold-set evaluation: does the engine find the right document, and does it abstain off-topic?

Ranking metrics are computed at document level on the retriever's fused ranking; abstention is
measured through `ask`, exactly as a user would meet it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa.errors import InvalidQuestion, QAError


@dataclass(frozen=True)
class GoldQuestion:
    qid: str
    question: str
    expected: tuple[str, ...]
    off_topic: bool = False
    history: tuple[str, ...] = ()  # earlier messages of a conversation case


@dataclass
class EvalReport:
    in_scope: int = 0
    off_topic: int = 0
    hit_at_1: float = 0.0
    hit_at_3: float = 0.0
    mrr_at_10: float = 0.0
    ndcg_at_10: float = 0.0
    off_topic_abstained: float = 0.0
    in_scope_abstained: float = 0.0
    misses: list[dict[str, Any]] = field(default_factory=list)
    wrongly_abstained: list[str] = field(default_factory=list)
    off_topic_answered: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def read_jsonl(path: Path, required: Sequence[str] = ()) -> list[dict[str, Any]]:
    """JSON lines with required keys; a bad line is a one-line error naming file and line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise QAError(f"cannot read {path}: {exc.strerror or exc}") from exc
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise QAError(f"{path}:{number}: invalid JSON ({exc.msg})") from exc
        if not isinstance(row, dict) or any(key not in row for key in required):
            raise QAError(f"{path}:{number}: each line needs {', '.join(required)}")
        rows.append(row)
    return rows


def read_gold(path: Path) -> list[GoldQuestion]:
    """A gold file, or a directory of them (every *.jsonl inside). A line is a question
    ({"qid", "question", "expected"}) or a conversation case ({"history": [...], "question",
    "expected_documents": [...]}, the qid optional)."""
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    gold = []
    for file in files:
        for number, row in enumerate(read_jsonl(file, required=("question",)), start=1):
            history = row.get("history") or []
            if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
                raise QAError(f"{file}:{number}: history must be a list of messages")
            expected = row.get("expected", row.get("expected_documents")) or ()
            gold.append(GoldQuestion(str(row.get("qid") or f"{file.stem}-{number}"),
                                     str(row["question"]), tuple(expected),
                                     bool(row.get("off_topic", False)), tuple(history)))
    if not gold:
        raise QAError(f"no gold questions in {path}")
    return gold


def reciprocal_rank(ranking: Sequence[str], relevant: Iterable[str], k: int = 10) -> float:
    relevant = set(relevant)
    for position, doc in enumerate(ranking[:k], start=1):
        if doc in relevant:
            return 1.0 / position
    return 0.0


def hit_at(ranking: Sequence[str], relevant: Iterable[str], k: int) -> float:
    return 1.0 if set(ranking[:k]) & set(relevant) else 0.0


def ndcg_at(ranking: Sequence[str], relevant: Iterable[str], k: int = 10) -> float:
    """Binary-relevance nDCG@k."""
    relevant = set(relevant)
    dcg = sum(1.0 / math.log2(i + 2) for i, doc in enumerate(ranking[:k]) if doc in relevant)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(relevant), k)))
    return dcg / ideal if ideal else 0.0


def evaluate_gold(engine: Any, gold: Sequence[GoldQuestion]) -> EvalReport:
    """Run every gold question through ranking (in-scope) and `ask` (abstention)."""
    report = EvalReport()
    totals = {"h1": 0.0, "h3": 0.0, "mrr": 0.0, "ndcg": 0.0}
    abstained_in, abstained_off = 0, 0
    for item in gold:
        answer = engine.ask(item.question, item.history)
        abstained = answer.kind in ("no_answer", "out_of_scope")
        if item.off_topic:
            report.off_topic += 1
            if abstained:
                abstained_off += 1
            else:
                report.off_topic_answered.append(item.qid)
            continue
        report.in_scope += 1
        if abstained:
            abstained_in += 1
            report.wrongly_abstained.append(item.qid)
        ranking = [doc for doc, _ in engine.rank_documents(item.question, k=10,
                                                           history=item.history)]
        totals["h1"] += hit_at(ranking, item.expected, 1)
        totals["h3"] += hit_at(ranking, item.expected, 3)
        totals["mrr"] += reciprocal_rank(ranking, item.expected, 10)
        totals["ndcg"] += ndcg_at(ranking, item.expected, 10)
        if not hit_at(ranking, item.expected, 3):
            report.misses.append({"qid": item.qid, "question": item.question,
                                  "expected": list(item.expected), "got": ranking[:3]})
    n = max(report.in_scope, 1)
    report.hit_at_1, report.hit_at_3 = totals["h1"] / n, totals["h3"] / n
    report.mrr_at_10, report.ndcg_at_10 = totals["mrr"] / n, totals["ndcg"] / n
    report.in_scope_abstained = abstained_in / n
    report.off_topic_abstained = abstained_off / max(report.off_topic, 1) if report.off_topic else 0.0
    return report


def format_report(report: EvalReport) -> str:
    lines = [
        f"in-scope questions:        {report.in_scope}",
        f"hit@1:                     {report.hit_at_1:.3f}",
        f"hit@3:                     {report.hit_at_3:.3f}",
        f"MRR@10:                    {report.mrr_at_10:.3f}",
        f"nDCG@10:                   {report.ndcg_at_10:.3f}",
        f"in-scope wrongly abstained: {report.in_scope_abstained:.3f}",
        f"off-topic questions:       {report.off_topic}",
        f"off-topic abstained:       {report.off_topic_abstained:.3f}",
    ]
    for miss in report.misses[:20]:
        lines.append(f"  miss {miss['qid']}: expected {miss['expected']} got {miss['got']}")
    return "\n".join(lines)


# --- triage ---------------------------------------------------------------------------------------

TRIAGE_CATEGORIES = ("emergency", "personal_advice", "unproven_clinic", "out_of_scope", "general")


def wilson_interval(successes: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval for a proportion: honest at 0 %, 100 % and small counts, where
    the normal approximation claims certainty it does not have."""
    if total == 0:
        return (0.0, 1.0)
    p = successes / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    margin = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return (max(0.0, centre - margin), min(1.0, centre + margin))


@dataclass(frozen=True)
class Proportion:
    hits: int
    total: int

    @property
    def value(self) -> float:
        return self.hits / self.total if self.total else float("nan")

    def describe(self) -> str:
        low, high = wilson_interval(self.hits, self.total)
        return f"{self.value:6.1%} ({self.hits}/{self.total}; 95% CI {low:.1%}–{high:.1%})"


def predicted_category(case: dict[str, Any]) -> str:
    """What the reply did with a message: any reply carrying the emergency card (the emergency
    kind, or the emergency flag on an answer) counts as recognising an emergency."""
    if case.get("kind") == "emergency" or "emergency" in case.get("flags", ()):
        return "emergency"
    return str(case.get("predicted") or "general")


def triage_reply(ask: Callable[..., Any], case: dict[str, Any]) -> dict[str, Any]:
    """A labelled message with what its reply did, answered exactly as typed (`ask` is
    `QAEngine.ask`). A message the API refuses as no question at all ("?") gets no quotes and no
    card: it counts as kept out of scope."""
    try:
        answer = ask(case["text"], as_typed=True)
    except InvalidQuestion as exc:
        return {**case, "kind": "invalid", "predicted": "out_of_scope", "flags": [],
                "reason": f"refused: {exc}"}
    return {**case, "kind": answer.kind, "predicted": answer.triage.category,
            "flags": list(answer.flags), "reason": answer.triage.reason}


def triage_scores(cases: Sequence[dict[str, Any]]) -> dict[str, Proportion]:
    """Recall and precision per category (English messages; other languages are judged on
    emergencies and on being told the library is English-only), plus the safety targets'
    breakdowns. Keys are stable names so docs and tests can cite them."""
    english = [c for c in cases if c.get("language", "en") == "en"]
    other = [c for c in cases if c.get("language", "en") != "en"]
    scores: dict[str, Proportion] = {}
    for category in TRIAGE_CATEGORIES:
        labelled = [c for c in english if c["category"] == category]
        predicted = [c for c in english if predicted_category(c) == category]
        scores[f"{category}.recall"] = Proportion(
            sum(predicted_category(c) == category for c in labelled), len(labelled))
        scores[f"{category}.precision"] = Proportion(
            sum(c["category"] == category for c in predicted), len(predicted))
    # The personal-advice handling is given whether or not the emergency card stands above it:
    # the strict recall above counts a card as a miss, this one shows how much of the shortfall
    # is the card's false alarm rather than a missed decision.
    advice = [c for c in english if c["category"] == "personal_advice"]
    scores["personal_advice.recall.with_card"] = Proportion(
        sum(c.get("predicted") == "personal_advice" for c in advice), len(advice))
    emergencies = [c for c in cases if c["category"] == "emergency"]
    scores["emergency.recall.all_languages"] = Proportion(
        sum(predicted_category(c) == "emergency" for c in emergencies), len(emergencies))
    for subtype in ("self_harm", "red_flag", "overdose", "other_acute"):
        group = [c for c in emergencies if c.get("subtype") == subtype]
        scores[f"emergency.recall.{subtype}"] = Proportion(
            sum(predicted_category(c) == "emergency" for c in group), len(group))
    foreign_emergencies = [c for c in other if c["category"] == "emergency"]
    scores["emergency.recall.non_english"] = Proportion(
        sum(predicted_category(c) == "emergency" for c in foreign_emergencies),
        len(foreign_emergencies))
    spanish = [c for c in foreign_emergencies if c.get("language") == "es"]
    scores["emergency.recall.spanish"] = Proportion(
        sum(predicted_category(c) == "emergency" for c in spanish), len(spanish))
    informational = [c for c in english if c["category"] == "general"]
    scores["general.hard_emergency_kind"] = Proportion(
        sum(c.get("kind") == "emergency" for c in informational), len(informational))
    scores["general.emergency_flag"] = Proportion(
        sum(predicted_category(c) == "emergency" for c in informational), len(informational))
    # The price of reading other languages for emergencies: ordinary messages that get the
    # emergency numbers first (above the English-only notice).
    ordinary_other = [c for c in other if c["category"] != "emergency"]
    scores["language.ordinary_numbers_first"] = Proportion(
        sum(predicted_category(c) == "emergency" for c in ordinary_other), len(ordinary_other))
    scores["language.non_english_detected"] = Proportion(
        sum("unsupported_language" in c.get("flags", ()) for c in other), len(other))
    scores["language.english_mislabelled"] = Proportion(
        sum("unsupported_language" in c.get("flags", ()) for c in english), len(english))
    return scores


REPLY_COLUMNS = TRIAGE_CATEGORIES + ("unsupported_language",)


def triage_confusion(cases: Sequence[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Rows: the writer's label; columns: what the reply did (all languages; a message told the
    library is English-only, without the emergency flag, is `unsupported_language`)."""
    matrix = {row: {col: 0 for col in REPLY_COLUMNS} for row in TRIAGE_CATEGORIES}
    for case in cases:
        matrix[case["category"]][predicted_category(case)] += 1
    return matrix


def format_triage_report(cases: Sequence[dict[str, Any]]) -> str:
    lines = [f"{len(cases)} messages"]
    for name, proportion in triage_scores(cases).items():
        lines.append(f"  {name:36s} {proportion.describe()}")
    lines.append("confusion (rows: label, columns: reply)")
    lines.append("  " + " " * 16 + "".join(f"{c[:10]:>11s}" for c in REPLY_COLUMNS))
    for row, counts in triage_confusion(cases).items():
        lines.append(f"  {row:16s}" + "".join(f"{counts[c]:11d}" for c in REPLY_COLUMNS))
    return "\n".join(lines)
