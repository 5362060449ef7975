"""Safety triage: every message is judged before anything is quoted, and the reply says why.

Three layers, simplest first (docs/safety.md is the model card):

1. Language (qa.safety.language). The library is English. A message in another language gets a
   reply in that language saying so, with the emergency numbers; if it may describe an emergency
   (the crisis lexicon written by native speakers, or the classifier, whose character n-grams
   were trained on messages in the training languages, at its lower other-language threshold)
   it carries the `emergency` flag and the numbers lead.
2. The clinical red-flag layer (qa.safety.red_flags), a recall floor written as concepts:
   self-harm, overdose, a warning symptom in an urgent context, about someone now.
3. The learned classifier (qa.safety.classifier) over the question's embedding and its n-grams:
   emergency, personal_advice, unproven_clinic, out_of_scope, general.

Emergency in two strengths: `emergency` (the reply is the emergency card alone) when a red flag
fires on a statement, or, with no red flag, when the classifier is confident; the `emergency` flag
on an ordinary answer (the card first, then the quotes) when a red flag is asked about ("is that
normal?"), when the classifier is unsure, or when a red-flag statement reads to the classifier as
plainly ordinary: the quotes are kept under the card. Only a classifier that is near-certain the
message is not an emergency ("can interferon cause suicidal thoughts?" asked as information)
sets a red flag aside — a probability far under that of any emergency the layer caught in the
training split's cross-validation — and never one that needed the earlier messages. The
thresholds are the trained model's, chosen on the training split. In a chat, an earlier message
that got the card alone keeps the card above the replies that follow (the server keeps nothing:
the earlier messages are judged again from the history the page sends).

Off topic in two strengths too: a confident classifier keeps the message out of scope (unless the
library has strong passages for it: qa.engine); an unsure one whose likeliest reading is still
off topic tags the message, and the engine says it is out of scope only if the library has
nothing for it either — otherwise it is answered as an ordinary question.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from qa.domain import Triage
from qa.encoders import Embedder
from qa.errors import ConfigError
from qa.safety.classifier import Scores, TriageClassifier
from qa.safety.language import LanguageGuess
from qa.safety.red_flags import HARD, RedFlag, RedFlags
from qa.settings import Settings

UNSUPPORTED = "unsupported_language"
ADVICE_FLAGS = ("unproven_clinic", "personal_advice")
# The tag of a message whose likeliest ordinary reading is off topic, below the confidence that
# decides alone: the library's evidence decides (qa.engine).
LEANS_OUT_OF_SCOPE = "leans_out_of_scope"


@dataclass(frozen=True)
class Thresholds:
    """Classifier probabilities at which it decides (stored with the trained model)."""

    emergency: float = 0.5  # hard emergency
    emergency_flag: float = 0.3  # the emergency card above an ordinary answer
    emergency_flag_other_language: float = 0.3  # the numbers first in the English-only notice
    red_flag_doubt: float = 1.01  # P(general) at which a red-flag statement keeps its quotes
    red_flag_veto: float = 0.0  # P(emergency) under which an English red flag is set aside
    out_of_scope: float = 0.6  # below this, the library's evidence decides (LEANS_OUT_OF_SCOPE)
    advice_flag: float = 0.4  # personal advice or clinic seeking flagged beside another category


class Triager:
    """Routes a message: emergency, out_of_scope, unproven_clinic, personal_advice, general or
    unsupported_language; `reason` says which layer decided and on what."""

    def __init__(self, classifier: TriageClassifier, red_flags: RedFlags,
                 language: LanguageGuess, thresholds: Thresholds | None = None) -> None:
        self.classifier = classifier
        self.red_flags = red_flags
        self.language = language
        stored = classifier.meta.get("thresholds") or {}
        self.thresholds = thresholds or Thresholds(**stored)

    @classmethod
    def from_settings(cls, settings: Settings, known_word: Callable[[str], bool],
                      embedder: Embedder) -> Triager:
        """The configured model and rules; `known_word` (English or the library's) keeps
        English messages full of technical words from being read as another language. A model
        trained on another embedding model's vectors is refused with one line."""
        classifier = TriageClassifier.load(settings.triage_model_file)
        trained_on = classifier.meta.get("model")
        if classifier.meta.get("dimension") != embedder.dimension or trained_on != embedder.name:
            raise ConfigError(f"the triage model {settings.triage_model_file} was trained on "
                              f"'{trained_on}' vectors, not '{embedder.name}'; run "
                              "`qa triage train` to retrain it")
        return cls(classifier,
                   RedFlags.from_files(settings.red_flags_file, settings.crisis_lexicon_file),
                   LanguageGuess(known_word))

    def decide(self, question: str, vector: np.ndarray, earlier: Sequence[str] = (),
               earlier_vectors: Sequence[np.ndarray | None] = ()) -> Triage:
        """The verdict on the new message. `earlier_vectors` (the earlier messages' embeddings,
        None where unknown) let an emergency told in an earlier message keep the card on this
        reply (`_after_an_earlier_emergency`)."""
        language = self.language.identify(question)
        flag = self.red_flags.read(question, earlier, language)
        scores = self.classifier.scores(question, vector)
        if language != "en":
            return self._other_language(language, flag, scores)
        set_aside = ""
        if flag is not None and scores["emergency"] < self.thresholds.red_flag_veto \
                and (not earlier or self.red_flags.read(question) is not None):
            # The classifier is near-certain this is not an emergency ("can interferon cause
            # suicidal thoughts?"); a red flag that needed the earlier messages is never set
            # aside, because the classifier reads only the new one.
            set_aside, flag = f"{flag.describe()} set aside: the classifier is near-certain " \
                f"it is not an emergency; ", None
        verdict = self._english(flag, scores)
        if set_aside:
            verdict = Triage(verdict.category, set_aside + verdict.reason, verdict.flags,
                             verdict.tags)
        if "emergency" not in verdict.flags and verdict.category != "emergency":
            verdict = self._after_an_earlier_emergency(verdict, earlier, earlier_vectors)
        return verdict

    def _after_an_earlier_emergency(self, verdict: Triage, earlier: Sequence[str],
                                    earlier_vectors: Sequence[np.ndarray | None]) -> Triage:
        """The verdict with the card above its answer when an earlier message of the chat got
        the emergency card alone on its own turn (judged again here the same way: the server
        keeps nothing). Why: the whole emergency is often told first ("my legs have gone numb
        since lunch and I can't pee") and the next message is not urgent by itself ("I had
        HSCT for NMO last year, is this a relapse?"); a careful service keeps saying "if this
        is happening now, get help" on the replies that follow. Only an earlier message that
        got the card alone counts, so a message that was only flagged on its own turn passes
        on nothing (measured in docs/safety.md)."""
        for number in range(min(len(earlier), len(earlier_vectors)) - 1, -1, -1):
            vector = earlier_vectors[number]
            if vector is None:
                continue
            own = self.decide(earlier[number], vector, earlier[:number])
            if own.category != "emergency":
                continue
            # As for the new message's own flag, a flagged message is answered, not kept out.
            category = "general" if verdict.category == "out_of_scope" else verdict.category
            carried = tuple(t for t in own.tags if not t.startswith("language:"))
            return Triage(category, f"emergency flag: earlier message {number + 1} of this "
                          f"chat got the emergency card ({own.reason}); {verdict.reason}",
                          ("emergency", *verdict.flags), carried + verdict.tags,
                          verdict.off_topic)
        return verdict

    def _other_language(self, language: str, flag: RedFlag | None, scores: Scores) -> Triage:
        tags = (f"language:{language}",)
        if flag is not None:
            return Triage("emergency", f"{language}: {flag.describe()}", ("emergency", UNSUPPORTED),
                          tags + flag.tags)
        if scores["emergency"] >= self.thresholds.emergency_flag_other_language:
            return Triage("emergency", f"{language}: classifier ({scores.describe()})",
                          ("emergency", UNSUPPORTED), tags + ("medical",))
        return Triage(UNSUPPORTED, f"{language}: the library is in English", (UNSUPPORTED,), tags)

    def _english(self, flag: RedFlag | None, scores: Scores) -> Triage:
        t = self.thresholds
        learned = f"classifier ({scores.describe()})"
        emergency = scores["emergency"]
        # A red flag decides the strength itself (a question about a symptom now keeps its
        # quotes); without one, the classifier's confidence does.
        hard = flag.strength == HARD if flag is not None else emergency >= t.emergency
        doubted = hard and flag is not None and scores["general"] >= t.red_flag_doubt
        if hard and not doubted:
            reason = flag.describe() if flag is not None else learned
            return Triage("emergency", f"emergency: {reason}", ("emergency",),
                          flag.tags if flag is not None else ("medical",))
        others = {c: p for c, p in scores.probabilities.items() if c != "emergency"}
        category = max(others, key=lambda c: others[c])
        leans: tuple[str, ...] = ()
        if category == "out_of_scope" and others[category] < t.out_of_scope:
            category, leans = "general", (LEANS_OUT_OF_SCOPE,)
        flags = [c for c in ADVICE_FLAGS if c == category or others[c] >= t.advice_flag]
        reasons = [f"{category}: {learned}"]
        tags: tuple[str, ...] = ()
        if flag is not None or emergency >= t.emergency_flag:
            flags.insert(0, "emergency")
            why = flag.describe() if flag else learned
            if doubted:
                why += f"; kept the quotes: the classifier reads it as ordinary ({learned})"
            reasons.insert(0, f"emergency flag: {why}")
            tags = flag.tags if flag is not None else ("medical",)
        if category == "out_of_scope" and not flags:
            return Triage("out_of_scope", reasons[0], off_topic=others[category])
        return Triage(category if category != "out_of_scope" else "general", "; ".join(reasons),
                      tuple(flags), tags or leans, off_topic=others["out_of_scope"])

    def explain(self, question: str, vector: np.ndarray, earlier: Sequence[str] = (),
                earlier_vectors: Sequence[np.ndarray | None] = ()) -> dict[str, object]:
        """A reviewer's view of one decision: each layer's reading, then the verdict."""
        language = self.language.identify(question)
        flag = self.red_flags.read(question, earlier, language)
        scores = self.classifier.scores(question, vector)
        verdict = self.decide(question, vector, earlier, earlier_vectors)
        return {"question": question, "language": language,
                "red_flag": flag.describe() if flag else None,
                "classifier": scores.probabilities, "thresholds": self.thresholds.__dict__,
                "category": verdict.category, "flags": list(verdict.flags),
                "tags": list(verdict.tags), "reason": verdict.reason}
