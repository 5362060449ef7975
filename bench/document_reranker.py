"""Fit and measure the document reranker (qa/retrieval/document_reranker.py) and the document
classifier it reads (qa/retrieval/document_classifier.py).

Both learn only from batches that earlier sessions had already read and tuned on (`READ`; the
classifier also from the library's own passages); every other batch, kept as a fresh measure
(`FRESH`), and the gold set never train them. Each read batch is held out in turn (both models fitted on all the
others), so the first figures are on questions neither model saw; the gold set is held out as a
group of its own. The reranker is fitted on classifier probabilities that are cross-fitted the
same way (each batch's from a classifier that did not see it), so it learns how far to trust
the classifier on questions the classifier has not seen. `--fresh` also measures the models
fitted on every read batch once on the fresh batches, and `--write` stores them as
qa/data/document_reranker.json and qa/data/document_classifier.npz (deterministic: the same
index, model and data give the same weights). Figures go to docs/design.md.

    python bench/document_reranker.py [--index index] [--c 0.1] [--fresh] [--write]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench import conversation_eval as ce  # noqa: E402

# The batches earlier sessions had read and tuned on: the only ones that fit the two models (the
# shipped weights' `trained_on`). Every other batch is kept to measure a change, never to fit
# one — a batch added later included, so a refit never trains on a fresh batch by default.
READ = frozenset({"blind", "blind2", "blind3", "blind4", "blind5", "blind6", "blind9", "blind11",
                  "blind13", "blind14", "blind15", "blind18", "blind20", "blind21", "blind22",
                  "blind24", "blind25", "blind26", "blind27", "dev"})
FRESH = frozenset(split for split in ce.SPLITS if split not in READ and not split.startswith("dev"))
REFERENCE_DOCUMENTS = ("glossary",)  # definitions of every term: matches much, answers little
TOP = 10  # documents reordered
CLASSIFIER_C = 1.0  # inverse regularisation of the document classifier
# group, kind, documents, features, labels, question vector
Row = tuple[str, str, list[str], np.ndarray, set[str], np.ndarray]


def labelled_questions(engine: Any, fresh: bool = False) -> Iterator[Row]:
    """Every labelled question of the read batches and the gold set (or, with `fresh`, of the
    fresh batches), with the fused ranking's top documents, their features (the classifier's
    columns still empty: see `with_probabilities`) and the question's vector."""

    for group, kind, question, history, expected in _labelled(fresh):
        query = engine.query(question, history)
        documents, features = engine.retriever.document_features(
            query, frozenset(REFERENCE_DOCUMENTS), TOP)
        yield group, kind, documents, features, expected, np.asarray(query.vector)


def _labelled(fresh: bool) -> Iterator[tuple[str, str, str, list[str], set[str]]]:
    """(group, kind, question, earlier messages, expected documents) of each labelled case."""
    from qa.evaluation import read_gold

    for split, (folder, chats, brands) in ce.SPLITS.items():
        if (split in READ) == fresh or split.startswith("dev-"):
            continue
        for case in ce.cases(folder, chats and f"conversations-{chats}.jsonl"):
            if not case.get("expected_documents") or \
                    case["kind"] in ("split_emergency", "not_emergency"):
                continue
            expected = set(case["expected_documents"])
            yield split, "follow-up", case["question"], case["history"], expected
            yield split, "in full", case["full_question"], [], expected
        for case in ce.cases(folder, brands and f"brands-{brands}.jsonl"):
            if case.get("expected_documents") and "generic_question" in case:
                yield split, "brand", case["question"], [], set(case["expected_documents"])
    for gold in [] if fresh else read_gold(ROOT / "eval" / "gold"):
        if gold.expected:
            yield "gold", "gold", gold.question, [], set(gold.expected)


def fit_classifier(rows: list[Row], passages: tuple[np.ndarray, list[str]]) -> Any:
    """The document classifier on the rows' questions (one example per expected document) and
    the library's passages (each labelled with its own document), classes weighted evenly so a
    document few questions asked for is not pushed down."""
    from sklearn.linear_model import LogisticRegression

    vectors, documents = passages
    x = [row[5] for row in rows for _ in row[4]] + list(vectors)
    y = [document for row in rows for document in sorted(row[4])] + documents
    return LogisticRegression(C=CLASSIFIER_C, class_weight="balanced", max_iter=3000
                              ).fit(np.array(x), y)


def classifier_of(model: Any) -> Any:
    from qa.retrieval.document_classifier import DocumentClassifier

    return DocumentClassifier(tuple(str(c) for c in model.classes_), model.coef_,
                              model.intercept_)


def with_probabilities(rows: list[Row], classifier: Any) -> list[Row]:
    """The rows with the classifier's columns filled in by `classifier`."""
    from qa.retrieval.document_reranker import CLASSIFIER_COLUMNS, classifier_columns

    out = []
    for group, kind, documents, features, expected, vector in rows:
        if documents:
            features = features.copy()
            features[:, -CLASSIFIER_COLUMNS:] = classifier_columns(
                classifier.probabilities(vector, documents))
        out.append((group, kind, documents, features, expected, vector))
    return out


def cross_fitted(rows: list[Row], passages: tuple[np.ndarray, list[str]]) -> list[Row]:
    """Each read batch's rows with probabilities from a classifier fitted without that batch;
    the gold set's from one fitted on every read batch (the gold set never trains it)."""
    out: list[Row] = []
    for held in sorted({row[0] for row in rows}):
        training = [row for row in rows if row[0] not in (held, "gold")]
        out += with_probabilities([row for row in rows if row[0] == held],
                                  classifier_of(fit_classifier(training, passages)))
    return out


def fit(rows: list[Row], c: float) -> Any:
    from sklearn.linear_model import LogisticRegression

    train = [row for row in rows if row[2]]
    x = np.vstack([row[3] for row in train])
    y = np.concatenate([[doc in row[4] for doc in row[2]] for row in train])
    return LogisticRegression(C=c, max_iter=2000).fit(x, y)


def reranked(model: Any, documents: list[str], features: np.ndarray) -> list[str]:
    return [documents[i] for i in np.argsort(-model.decision_function(features), kind="stable")]


def held_out(data: list[Row], c: float) -> tuple[dict[str, Counter], dict[str, Counter]]:
    """Hit@3 before and after, each group held out in turn; and each group's gain by kind."""
    counts: dict[str, Counter] = {name: Counter() for name in ("fused", "reranked", "questions")}
    gains: dict[str, Counter] = {}
    for held in sorted({row[0] for row in data}):
        model = fit([row for row in data if row[0] != held], c)
        gain = gains.setdefault(held, Counter())
        for _, kind, documents, features, expected, _ in (r for r in data if r[0] == held):
            if not documents:
                continue
            before = bool(expected & set(documents[:3]))
            after = bool(expected & set(reranked(model, documents, features)[:3]))
            counts["questions"][kind] += 1
            counts["fused"][kind] += before
            counts["reranked"][kind] += after
            gain[kind] += after - before
    return counts, gains


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=ROOT / "index")
    parser.add_argument("--c", type=float, default=0.1, help="inverse regularisation strength")
    parser.add_argument("--fresh", action="store_true",
                        help="also measure the model fitted on every read batch on the fresh ones")
    parser.add_argument("--write", action="store_true",
                        help="store the model fitted on every read batch in qa/data")
    args = parser.parse_args()
    from qa.engine import QAEngine
    from qa.retrieval.document_reranker import FEATURES
    from qa.settings import DOCUMENT_RERANKER_FILE, Settings

    # Features come from the fused ranking before any reranking, whatever is shipped.
    engine = QAEngine.from_settings(Settings(index_dir=args.index, document_reranker=False))
    index = engine.index
    passages = (np.asarray(index.embeddings),
                [index.passages[row].document_id for row in range(len(index.passages))])
    raw = list(labelled_questions(engine))
    data = cross_fitted(raw, passages)
    counts, gains = held_out(data, args.c)
    print(f"document-level hit@3, each read batch held out in turn (C={args.c}):")
    for kind, total in counts["questions"].items():
        print(f"  {kind:10s} {counts['fused'][kind]:5d} -> {counts['reranked'][kind]:5d} "
              f"of {total}")
    for kind in counts["questions"]:
        moved = [g[kind] for g in gains.values() if kind in g]
        print(f"  {kind:10s} batches better {sum(x > 0 for x in moved)}, the same "
              f"{sum(x == 0 for x in moved)}, worse {sum(x < 0 for x in moved)}")
    read = [row for row in raw if row[0] != "gold"]
    model = fit([row for row in data if row[0] != "gold"], args.c)
    classifier = classifier_of(fit_classifier(read, passages))
    if args.fresh:
        print("fitted on every read batch, measured on the fresh batches (hit@3):")
        results: dict[tuple[str, str], list[int]] = {}
        fresh = with_probabilities(list(labelled_questions(engine, fresh=True)), classifier)
        for split, kind, documents, features, expected, _ in fresh:
            tally = results.setdefault((split, kind), [0, 0, 0])
            tally[0] += bool(expected & set(documents[:3]))
            tally[1] += bool(documents) and bool(expected & set(reranked(model, documents,
                                                                         features)[:3]))
            tally[2] += 1
        for (split, kind), (before, after, total) in sorted(results.items()):
            print(f"  {split:8s} {kind:10s} {before:4d} -> {after:4d} of {total}")
    if args.write:
        trained_on = sorted({row[0] for row in read})
        classifier_file = DOCUMENT_RERANKER_FILE.with_name("document_classifier.npz")
        classifier.meta.update({
            "trained_on": trained_on, "questions": len(read), "passages": len(passages[1]),
            "c": CLASSIFIER_C, "class_weight": "balanced",
            "data_sha256": hashlib.sha256(json.dumps(
                [[row[0], sorted(row[4]), np.round(row[5], 6).tolist()] for row in read]
                + passages[1]).encode()).hexdigest(),
            "note": "fitted by bench/document_reranker.py --write; see docs/design.md"})
        classifier.save(classifier_file)
        digest = hashlib.sha256(json.dumps(
            [[row[0], row[1], row[2], np.round(row[3], 6).tolist(), sorted(row[4])]
             for row in data if row[0] != "gold"]).encode()).hexdigest()
        DOCUMENT_RERANKER_FILE.write_text(json.dumps({
            "features": list(FEATURES), "weights": [round(float(w), 6) for w in model.coef_[0]],
            "intercept": round(float(model.intercept_[0]), 6), "top": TOP,
            "reference_documents": list(REFERENCE_DOCUMENTS), "c": args.c,
            "classifier": classifier_file.name,
            "trained_on": trained_on, "questions": len(read), "data_sha256": digest,
            "note": "fitted by bench/document_reranker.py --write; see docs/design.md"},
            indent=2) + "\n", encoding="utf-8")
        print(f"wrote {DOCUMENT_RERANKER_FILE} and {classifier_file}")


if __name__ == "__main__":
    main()
