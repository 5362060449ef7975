"""`qa triage train`: fit the triage classifier on the training split, deterministically.

The training data are the labelled messages in eval/triage/train/ (independent writers; its
`retired/` folder holds blind splits that served their measurement and were then moved into
training, docs/safety.md; the blind splits in eval/triage/blind*/ are never read here) and the
curated examples of
qa/data/triage_examples.yaml. The same data and code give the same weights: the model is a
multinomial logistic regression (lbfgs, no randomness) over fixed features.

Thresholds are chosen by five-fold cross-validation on the training data only (a fixed split):
the emergency threshold for a hard `emergency` reply and the lower one for the emergency flag
(English, and separately other languages, whose only reply is the English-only notice, so a
false alarm costs little there), the out-of-scope threshold, and how sure the classifier must
be that a message is ordinary before a red-flag statement keeps its quotes under the card
(docs/safety.md states the rules and the figures).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from qa.encoders import Embedder
from qa.errors import ConfigError
from qa.safety.classifier import CATEGORIES, CHAR_PARAMS, WORD_PARAMS, TriageClassifier
from qa.safety.red_flags import HARD, RedFlags
from qa.yaml_data import load_yaml

SEED = 13
# The word and character n-grams lead and the embedding follows at a fraction of their weight,
# lightly regularised: that ranking put fewer ordinary questions above the emergencies on the
# read blind splits than equal weights did (docs/safety.md, blind test 18).
C = 16.0
EMBEDDING_WEIGHT = 0.25
MIN_DF = 2


@dataclass(frozen=True)
class Example:
    text: str
    category: str
    subtype: str = ""
    language: str = "en"


def read_examples(paths: Sequence[Path]) -> list[Example]:
    """Labelled messages from JSONL files ({"text", "category", ...}; a folder means every
    *.jsonl under it, its sub-folders included, in path order) and the curated YAML examples
    ({category: {id: text or {text}}})."""
    examples: list[Example] = []
    files = [f for p in paths for f in (sorted(p.rglob("*.jsonl")) if p.is_dir() else [p])]
    for path in files:
        if path.suffix in (".yaml", ".yml"):
            data = load_yaml(path.read_text(encoding="utf-8")) or {}
            for category, items in data.items():
                if category not in CATEGORIES or not isinstance(items, dict):
                    continue
                for item in items.values():
                    text = item if isinstance(item, str) else item.get("text", "")
                    examples.append(Example(str(text), category))
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            row = json.loads(line)
            if row.get("category") not in CATEGORIES or not row.get("text"):
                raise ConfigError(f"{path}:{number}: needs a text and one of {CATEGORIES}")
            examples.append(Example(row["text"], row["category"], row.get("subtype", ""),
                                    row.get("language", "en")))
    return examples


def _fit(texts: list[str], vectors: np.ndarray, labels: list[str]) -> TriageClassifier:
    words = TfidfVectorizer(**WORD_PARAMS, min_df=MIN_DF)
    chars = TfidfVectorizer(**CHAR_PARAMS, min_df=MIN_DF)
    features = sparse.hstack([words.fit_transform(texts), chars.fit_transform(texts),
                              sparse.csr_matrix(vectors * EMBEDDING_WEIGHT)], format="csr")
    model = LogisticRegression(C=C, max_iter=5000, class_weight="balanced", random_state=SEED)
    model.fit(features, labels)
    return TriageClassifier(_in_column_order(words), words.idf_, _in_column_order(chars),
                            chars.idf_, EMBEDDING_WEIGHT, model.coef_, model.intercept_,
                            tuple(str(c) for c in model.classes_),
                            {"dimension": int(vectors.shape[1])})


def _in_column_order(vectorizer: TfidfVectorizer) -> list[str]:
    return [term for term, _ in sorted(vectorizer.vocabulary_.items(), key=lambda item: item[1])]


def cross_validated_scores(texts: list[str], vectors: np.ndarray, labels: list[str],
                           folds: int = 5) -> list[dict[str, float]]:
    """Each training message scored by a model that did not see it (for choosing thresholds).
    The folds follow each message's content, not its place in the files, so adding, moving or
    renaming a file moves only the messages it holds: with folds by position, the same data read
    in another file order moved the thresholds by a grid step (docs/safety.md)."""
    out: list[dict[str, float]] = [{} for _ in texts]
    by_content = np.array(sorted(range(len(texts)), key=lambda i: (
        hashlib.sha256(texts[i].encode("utf-8")).hexdigest(), labels[i])), dtype=np.int64)
    splitter = StratifiedKFold(n_splits=folds)
    for train_at, test_at in splitter.split(by_content, [labels[i] for i in by_content]):
        train, test = by_content[train_at], by_content[test_at]
        model = _fit([texts[i] for i in train], vectors[train], [labels[i] for i in train])
        scored = model.score_many([texts[i] for i in test], vectors[test])
        for i, scores in zip(test, scored):
            out[i] = scores.probabilities
    return out


# Thresholds are chosen on a fine grid: the flag threshold sits near the bottom of the range, where
# a coarse step is a large share of its value, so one new batch of training data moved it (and
# with it every flag) by a whole step (docs/safety.md, blind test 32).
GRID = [round(0.01 * i, 2) for i in range(1, 100)]
# The flag threshold catches at least this share of English emergencies in training CV — well
# above the 98 % blind target because blind recall has run below the cross-validated one, and
# oblique self-harm below that (docs/safety.md).
TARGET_EMERGENCY_RECALL = 0.995
# Other languages: the classifier together with the crisis lexicons. Their only reply is the
# English-only notice, which a lower threshold would give the numbers first more often, and their
# emergencies have been caught on every blind split at this target.
TARGET_OTHER_LANGUAGE_RECALL = 0.99
# The hard threshold (the card alone, no quotes): at most this share of ordinary questions reach
# it. Every emergency keeps the card below it too (the flag), so a stricter share costs only the
# card-alone strength; at 1 % a handful of training messages near the edge moved it a grid step
# and informational questions lost their quotes (docs/safety.md, blind tests 42-45).
TARGET_HARD_ON_GENERAL = 0.005
TARGET_OUT_OF_SCOPE_PRECISION = 0.98
# A red-flag statement keeps its quotes (card first) when the classifier is at least this sure
# the message is ordinary — chosen so that at most this share of real emergencies with such a
# red flag would lose the card-alone reply (they keep the card either way).
TARGET_DOUBTED_EMERGENCIES = 0.005
# A red flag yields only to a classifier that is near-certain the message is not an emergency:
# below a probability at most VETO_MARGIN times under the least sure training emergency the
# layer caught (cross-validated), and never above the grid's top (docs/safety.md).
VETO_GRID = (0.005, 0.01, 0.015, 0.02, 0.025)
VETO_MARGIN = 2.0
NEVER = 1.01  # a threshold no probability reaches


def choose_thresholds(labels: Sequence[str], scores: Sequence[dict[str, float]],
                      languages: Sequence[str] | None = None,
                      hard_red_flag: Sequence[bool] | None = None,
                      lexicon_caught: Sequence[bool] | None = None,
                      red_flagged: Sequence[bool] | None = None) -> dict[str, float]:
    """The decision thresholds, from cross-validated scores of the training split (recall first:
    a flag threshold is the highest that still catches the target share of emergencies).
    `languages` (the writers' labels) and `hard_red_flag` (whether the red-flag layer reads a
    statement of an emergency in the message) are per example; without them the English
    thresholds serve every language and red flags are never doubted. `lexicon_caught` (whether
    a language's crisis lexicon fires on the message) lets the other-language flag threshold
    count the emergencies the lexicon already catches: the classifier need only catch enough of
    the rest, which spares ordinary messages in those languages the emergency numbers first.
    `red_flagged` (whether the layer reads any red flag in an English message) sets how unsure
    of an emergency the classifier must be before a red flag is set aside; without it, never."""
    languages = languages or ["en"] * len(labels)
    hard_red_flag = hard_red_flag or [False] * len(labels)
    lexicon_caught = lexicon_caught or [False] * len(labels)
    english = [(label, s) for label, s, lang in zip(labels, scores, languages) if lang == "en"]
    emergencies = [s["emergency"] for label, s in english if label == "emergency"]
    ordinary = [s["emergency"] for label, s in english if label == "general"]
    foreign = [NEVER if caught else s["emergency"]
               for label, s, lang, caught in zip(labels, scores, languages, lexicon_caught)
               if lang != "en" and label == "emergency"]

    def share(values: list[float], t: float) -> float:
        return sum(v >= t for v in values) / max(len(values), 1)

    def flag_threshold(values: list[float], target: float) -> float:
        return max((t for t in GRID if share(values, t) >= target), default=GRID[0])

    flag = flag_threshold(emergencies, TARGET_EMERGENCY_RECALL)
    hard = min((t for t in GRID if share(ordinary, t) <= TARGET_HARD_ON_GENERAL and t >= flag),
               default=GRID[-1])
    flagged_emergencies = [s["general"] for label, s, red in zip(labels, scores, hard_red_flag)
                           if red and label == "emergency"]
    doubt = min((t for t in GRID if t >= 0.5 and share(flagged_emergencies, t)
                 <= TARGET_DOUBTED_EMERGENCIES), default=NEVER) if any(hard_red_flag) else NEVER
    outside = [(label, s["out_of_scope"]) for label, s in zip(labels, scores)]

    def precision(t: float) -> float:
        chosen = [label for label, p in outside if p >= t]
        return sum(label == "out_of_scope" for label in chosen) / max(len(chosen), 1)

    out_of_scope = min((t for t in GRID if precision(t) >= TARGET_OUT_OF_SCOPE_PRECISION),
                       default=GRID[-1])
    caught_by_layer = [s["emergency"] for label, s, red, lang in zip(
        labels, scores, red_flagged or [False] * len(labels), languages)
        if red and lang == "en" and label == "emergency"]
    veto = max((t for t in VETO_GRID if all(p >= t * VETO_MARGIN for p in caught_by_layer)),
               default=0.0) if caught_by_layer else 0.0
    return {"emergency": hard, "emergency_flag": flag, "red_flag_veto": veto,
            "emergency_flag_other_language":
                flag_threshold(foreign, TARGET_OTHER_LANGUAGE_RECALL) if foreign else flag,
            "red_flag_doubt": doubt, "out_of_scope": max(out_of_scope, 0.5), "advice_flag": 0.4}


def train(paths: Sequence[Path], embedder: Embedder, target: Path,
          red_flags: RedFlags | None = None) -> dict[str, Any]:
    """Fit on every example, write the artifact, and return what was trained on and how it did
    in cross-validation (for the command's printout and docs/safety.md). `red_flags` reads the
    English examples for the doubt threshold (without it, red flags are never doubted)."""
    examples = read_examples(paths)
    texts = [e.text for e in examples]
    labels = [e.category for e in examples]
    languages = [e.language for e in examples]
    red = caught = flagged = None
    if red_flags is not None:
        readings = [red_flags.read(e.text) if e.language == "en" else None for e in examples]
        red = [found is not None and found.strength == HARD for found in readings]
        flagged = [found is not None for found in readings]
        caught = [e.language != "en" and red_flags.read(e.text, (), e.language) is not None
                  for e in examples]
    vectors = embedder.encode(texts, batch_size=64)
    scores = cross_validated_scores(texts, vectors, labels)
    model = _fit(texts, vectors, labels)
    digest = hashlib.sha256("\n".join(f"{e.category}\t{e.text}" for e in examples).encode())
    model.meta.update({"examples": len(examples), "data_sha256": digest.hexdigest(),
                       "model": embedder.name, "seed": SEED, "C": C,
                       "languages": sorted(set(languages)),
                       "thresholds": choose_thresholds(labels, scores, languages, red, caught,
                                                       flagged)})
    target.parent.mkdir(parents=True, exist_ok=True)
    model.save(target)
    return {"examples": examples, "cross_validated": scores, "meta": model.meta}
