"""What raising the classifier's emergency-flag bar would cost, on the training split's own
cross-validation (the blind splits are never read here).

The flag threshold is the highest that still flags 99.5 % of English training emergencies
(qa/safety/training.py). Personal-advice, off-topic and informational messages that get the
card are mostly flagged by the classifier alone, at a probability just above that threshold.
This prints, for higher thresholds and for a rule that spares messages read far more likely as
personal advice or off topic, how many English emergencies the red-flag layer and the classifier
together would then miss (self-harm among them) and what share of each other category gets the
card — the frontier any change to the flag would move along:

    python bench/triage_flag_frontier.py
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
OTHERS = ("personal_advice", "general", "out_of_scope", "unproven_clinic")


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from qa.encoders import embedder_from_settings
    from qa.safety.classifier import TriageClassifier
    from qa.safety.red_flags import RedFlags
    from qa.safety.training import cross_validated_scores, read_examples
    from qa.settings import Settings

    settings = Settings()
    shipped = TriageClassifier.load(settings.triage_model_file).meta["thresholds"]["emergency_flag"]
    examples = [e for e in read_examples(settings.triage_training_data) if e.language == "en"]
    layer = RedFlags.from_files(settings.red_flags_file, settings.crisis_lexicon_file)
    read = [layer.read(e.text) is not None for e in examples]
    texts = [e.text for e in examples]
    scores = cross_validated_scores(texts, embedder_from_settings(settings).encode(
        texts, batch_size=64), [e.category for e in examples])

    def sparing(ratio: float) -> Callable[[dict[str, float]], bool]:
        def flags(s: dict[str, float]) -> bool:
            top = max((c for c in s if c != "emergency"), key=lambda c: s[c])
            return s["emergency"] >= shipped and not (
                top in ("personal_advice", "out_of_scope") and s[top] >= ratio * s["emergency"])
        return flags

    def above(threshold: float) -> Callable[[dict[str, float]], bool]:
        return lambda s: s["emergency"] >= threshold

    rules: list[tuple[str, Callable[[dict[str, float]], bool]]] = [
        (f"threshold {t:.2f}" + (" (shipped)" if t == shipped else ""), above(t))
        for t in sorted({shipped, 0.2, 0.25, 0.3})]
    rules += [(f"shipped, but not when personal advice or off topic is {r}x as likely", sparing(r))
              for r in (2.0, 3.0, 5.0)]
    emergencies = [i for i, e in enumerate(examples) if e.category == "emergency"]
    print(f"{len(examples)} English training messages, five-fold cross-validation; "
          "a message gets the card when the red-flag layer reads it or the rule flags it")
    print("| rule | emergencies missed | self-harm missed | " +
          " | ".join(f"{c} flagged" for c in OTHERS) + " |")
    print("| --- | --- | --- |" + " --- |" * len(OTHERS))
    for name, rule in rules:
        missed = [i for i in emergencies if not (read[i] or rule(scores[i]))]
        self_harm = sum(examples[i].subtype == "self_harm" for i in missed)
        shares = []
        for category in OTHERS:
            group = [i for i, e in enumerate(examples) if e.category == category]
            flagged = sum(read[i] or rule(scores[i]) for i in group)
            shares.append(f"{flagged / len(group):.1%} ({flagged}/{len(group)})")
        print(f"| {name} | {len(missed)}/{len(emergencies)} | {self_harm} | "
              + " | ".join(shares) + " |")


if __name__ == "__main__":
    main()
