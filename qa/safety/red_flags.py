"""The clinical red-flag layer: a recall floor under the learned classifier, written as concepts
(qa/data/red_flags.yaml explains each rule) rather than tuned sentences.

Whether a matched symptom is current — not negated ("no fever"), hypothetical ("what if he gets a
fever") or long past ("I had sepsis years ago") — is read by negspacy's NegEx over a blank spaCy
pipeline, with three cue sets: its clinical negation terms and this file's hypothetical and
historical cues. Other languages are matched against the crisis lexicon that native speakers
wrote (qa/data/crisis_lexicon.yaml): self-harm, overdose, and a symptom with a treatment context.
"""

from __future__ import annotations

import re
import unicodedata
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from qa.errors import ConfigError
from qa.text import fold
from qa.yaml_data import load_yaml

HARD = "hard"  # the emergency card alone
FLAG = "flag"  # the emergency card first, then the quotes
FIRST_YEAR = 1950  # the earliest year a message names as when something happened
# A negation or a hypothetical cue makes a self-harm phrase not current only within its clause
# ("I don't want to die", "what if I want to die"): a "no" or a "would" in an earlier clause ("no
# one would miss me, I want to end it all") is not about it. A phrase that carries its own
# negation ("don't want to be alive") is not negated again.
_CLAUSE_END = re.compile(r"[,;:()\u2013\u2014]|\s-\s")
_NEGATED_PHRASE = re.compile(r"\b(?:not?|never|don'?t|doesn'?t|won'?t|can'?t|aren'?t|isn'?t)\b")
_NUMBER = r"(?:\d+|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty)"


@dataclass(frozen=True)
class RedFlag:
    """What fired, how strongly, and what the emergency message should mention."""

    kind: str  # self_harm | overdose | symptom
    strength: str  # HARD | FLAG
    matched: str
    tags: tuple[str, ...]

    def describe(self) -> str:
        return f"red flag {self.kind} ('{self.matched}', {self.strength})"


def _pattern(phrases: Sequence[str], whole_words: bool = True) -> re.Pattern[str] | None:
    """One regex for a list of phrases: whole words, `*` at a word's end for any ending (or,
    for the crisis lexicons, whose entries include word stems, anywhere in the text)."""
    parts = []
    for phrase in phrases:
        text = re.escape(_normal(str(phrase)))
        text = text.replace(r"\*", r"\w*")
        parts.append(text)
    if not parts:
        return None
    body = "(?:" + "|".join(sorted(parts, key=len, reverse=True)) + ")"
    return re.compile(r"(?<![\w'])" + body + r"(?![\w'])" if whole_words else body)


_ARABIC = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ة": "ه", "ى": "ي"})
_ARABIC_MARKS = re.compile("[\u064b-\u0652\u0670]")
_LATIN_LETTERS = str.maketrans({"đ": "d", "ł": "l", "ø": "o", "ß": "ss", "ı": "i"})


def _normal(text: str) -> str:
    """Folded, with Arabic letter variants and vowel marks evened out and accents taken off Latin
    letters (as the lexicons' writers advised: people often type "fievre", "nao", "muon chet"),
    so one entry matches the ways people type it."""
    return _ARABIC_MARKS.sub("", _without_latin_accents(fold(text)).translate(_ARABIC))


def _without_latin_accents(text: str) -> str:
    """Accents off Latin letters only: other scripts' marks (Devanagari, kana) carry meaning."""
    if text.isascii():
        return text
    kept: list[str] = []
    for char in unicodedata.normalize("NFD", text.translate(_LATIN_LETTERS)):
        if unicodedata.combining(char) and kept and kept[-1] < "\u0250":
            continue
        kept.append(char)
    return unicodedata.normalize("NFC", "".join(kept))


def _first(pattern: re.Pattern[str] | None, text: str) -> re.Match[str] | None:
    return pattern.search(text) if pattern is not None else None


class Context:
    """Reads whether a mention is current: NegEx (negspacy) four times over one blank English
    pipeline — clinical negation, hypothetical cues, long-past cues, and cues that the mention is
    a subject asked about in general (research, rates, a leaflet, an essay)."""

    def __init__(self, cues: Mapping[str, Any]) -> None:
        spacy, termset = _import_spacy_without_torch()

        self.nlp = spacy.blank("en")
        self.nlp.add_pipe("sentencizer")
        negation = termset("en_clinical").get_patterns()
        negation["preceding_negations"] = sorted(set(negation["preceding_negations"]) | set(
            cues.get("negation_extra", {}).get("preceding", [])))
        readings = {"negex": negation}
        for reading in ("hypothetical", "historical", "informational"):
            found = cues.get(reading, {})
            dated = _past_years(found.get("before_past_year", []))
            readings[reading] = {"pseudo_negations": [], "termination": negation["termination"],
                                 "preceding_negations": list(found.get("preceding", [])) + dated,
                                 "following_negations": list(found.get("following", [])) + dated}
        self.readings = tuple(readings)
        for name, terms in readings.items():
            self.nlp.add_pipe("negex", name=f"reading_{name}",
                              config={"neg_termset": terms, "extension_name": name})

    def current(self, text: str, start: int, end: int, in_clause: Sequence[str] = (),
                skip: Sequence[str] = ()) -> tuple[bool, str]:
        """Whether text[start:end] is asserted now, and if not, why. The readings named in
        `in_clause` take their cues before the mention from its own clause only (NegEx otherwise
        reads the whole sentence, so "no point going on, I want to die" would read as negated,
        and "no one would miss me, I want to end it all" as hypothetical); those in `skip` are
        not read."""
        found = self._readings(text, start, end)
        if in_clause:
            cut = max((m.end() for m in _CLAUSE_END.finditer(text, 0, start)), default=0)
            clause = self._readings(text[cut:], start - cut, end - cut)
            found.update({reading: clause[reading] for reading in in_clause})
        found.update(dict.fromkeys(skip, False))
        for reading in self.readings:
            if found[reading]:
                return False, {"negex": "negated"}.get(reading, reading)
        return True, ""

    def _readings(self, text: str, start: int, end: int) -> dict[str, bool]:
        doc = self.nlp.make_doc(text)
        span = doc.char_span(start, end, label="FLAG", alignment_mode="expand")
        if span is None:
            return dict.fromkeys(self.readings, False)
        doc.ents = [span]
        for _, component in self.nlp.pipeline:
            doc = component(doc)
        entity = doc.ents[0]
        return {reading: bool(getattr(entity._, reading)) for reading in self.readings}


def _past_years(words: Sequence[str]) -> list[str]:
    """"in 2019", "back in 2016": each word before each year from FIRST_YEAR to last year (this
    year's events may be days old, so they never count as past)."""
    return [f"{word} {year}" for word in words for year in range(FIRST_YEAR, date.today().year)]


def _import_spacy_without_torch() -> tuple[Any, Any]:
    """spaCy's maths library (thinc) imports PyTorch whenever it is installed, which would add
    a few hundred MiB to every serving worker that runs the model on ONNX Runtime and never
    needs torch. A blank pipeline uses none of it, so torch is hidden while spaCy is imported
    (thinc then records that it has no torch); a later `import torch` (the torch backend) works
    as usual."""
    hide = "torch" not in sys.modules
    if hide:
        sys.modules["torch"] = None  # type: ignore[assignment]  # makes `import torch` fail
    try:
        import spacy
        from negspacy.negation import Negex  # noqa: F401  (registers the "negex" factory)
        from negspacy.termsets import termset
    finally:
        if hide:
            del sys.modules["torch"]
    return spacy, termset


class RedFlags:
    """The English concept rules and the other languages' crisis lexicons."""

    def __init__(self, rules: Mapping[str, Any], lexicons: Mapping[str, Mapping[str, Any]]) -> None:
        overdose = rules.get("overdose", {})
        self.self_harm = _pattern(rules.get("self_harm", []))
        self.self_harm_asking = _pattern(rules.get("self_harm_asking", []))
        self.informational = _pattern(rules.get("self_harm_informational", []))
        self.quantity = _pattern(overdose.get("quantity", []))
        units = "|".join(re.escape(u) for u in overdose.get("number_before", []))
        # "30 tablets", "thirty of my muscle relaxant tablets": a number, then the unit within
        # a few words.
        self.counted = re.compile(rf"\b{_NUMBER}\b(?:\W+\w+){{0,4}}?\W+(?:{units})\b") \
            if units else None
        self.taking = _pattern(overdose.get("taking", []))
        self.young = _pattern(overdose.get("young", []))
        self.medicine = _pattern(overdose.get("medicine", []))
        self.symptoms = _pattern(rules.get("symptoms", []))
        self.grave = _pattern(rules.get("grave", []))
        self.context = _pattern(rules.get("context", []))
        self.person = _pattern(rules.get("person", []))
        self.now = _pattern(rules.get("now", []))
        self.long_past = _pattern(rules.get("long_past", []))
        self.question_form = _pattern(rules.get("question_form", []))
        self.reader = Context(rules)
        self.lexicons = {language: _Lexicon(entry) for language, entry in lexicons.items()}

    @classmethod
    def from_files(cls, rules_file: Path, lexicon_file: Path) -> RedFlags:
        try:
            rules = load_yaml(rules_file.read_text(encoding="utf-8")) or {}
            lexicons = (load_yaml(lexicon_file.read_text(encoding="utf-8")) or {}).get(
                "languages", {})
            if not isinstance(rules, dict) or not isinstance(lexicons, dict):
                raise ValueError("expected mappings")
            return cls(rules, lexicons)
        except (OSError, yaml.YAMLError, ValueError, re.error) as exc:
            raise ConfigError(f"cannot read the red-flag rules ({exc})") from exc

    def read(self, message: str, earlier: Sequence[str] = (), language: str = "en"
             ) -> RedFlag | None:
        """The strongest red flag in the message (with its conversation), or None."""
        if language != "en":
            lexicon = self.lexicons.get(language)
            found = lexicon.read(message, earlier) if lexicon else None
            # People mix in English treatment words ("chemo", "transplant"): the English layer
            # reads other languages too.
            return found or self.read(message, earlier, "en")
        text = fold(message)
        before = fold(" ".join(earlier[-3:]))
        # About someone now: a person named, or a time that places it now ("ten days after").
        person = _first(self.person, text) or _first(self.person, before) \
            or _first(self.now, text) or _first(self.now, before)
        asking = _first(self.question_form, text) is not None
        found = self._self_harm(text, person is not None, asking)
        found = found or self._overdose(text, person is not None)
        return found or self._symptom(text, before, person is not None, asking)

    def _self_harm(self, text: str, person: bool, asking: bool) -> RedFlag | None:
        # Every phrase is read, not only the first: "not suicidal in the dramatic way, I just
        # ordered an exit bag" negates the first and states the second.
        if self.self_harm is not None and not _first(self.informational, text):
            for match in self.self_harm.finditer(text):
                negated = _NEGATED_PHRASE.search(match.group(0)) is not None
                current, _ = self.reader.current(text, *match.span(), ("negex", "hypothetical"),
                                                 ("negex",) if negated else ())
                # Someone named, or a time that places it now: the card alone; nobody named:
                # still the crisis line first, then information.
                if current:
                    return RedFlag("self_harm", HARD if person else FLAG, match.group(0),
                                   ("self_harm",))
        asked = _first(self.self_harm_asking, text)
        if asked:
            return RedFlag("self_harm", HARD if person else FLAG, asked.group(0), ("self_harm",))
        return None

    def _overdose(self, text: str, person: bool) -> RedFlag | None:
        took = _first(self.taking, text)
        if not took:
            return None
        amount = _first(self.quantity, text) or _first(self.counted, text)
        if amount is None and _first(self.young, text) and _first(self.medicine, text):
            amount = _first(self.medicine, text)  # a small child and medicine: any amount
        if amount is None:
            return None
        current, _ = self.reader.current(text, *took.span())
        if not current:
            return None
        return RedFlag("overdose", HARD if person else FLAG, f"{took.group(0)} … {amount.group(0)}",
                       ("medical", "poison"))

    def _symptom(self, text: str, before: str, person: bool, asking: bool) -> RedFlag | None:
        if not person:
            return None
        context_now = _first(self.context, text)
        context = context_now or _first(self.context, before)
        symptom = self._current_symptom(text, context is not None)
        if symptom is None and context_now is not None and before \
                and not _first(self.long_past, text):
            # The symptom told first, the treatment now ("he has a temp of 39 and keeps
            # shivering" … "he had his transplant ten days ago, is that normal?"), read in the
            # whole conversation so that "that was back in 2022" or "no fever" still count.
            symptom = self._current_symptom(f"{before} {text}", True, until=len(before))
        if symptom is None:
            return None
        tags = ("medical", "transplant") if context else ("medical",)
        return RedFlag("symptom", FLAG if asking else HARD, symptom, tags)

    def _current_symptom(self, text: str, in_context: bool, until: int | None = None
                         ) -> str | None:
        """The first warning symptom the text says is happening (not denied, not hypothetical),
        found before `until`; most need an urgent context, the grave ones do not."""
        for pattern, needs_context in ((self.grave, False), (self.symptoms, True)):
            if pattern is None or (needs_context and not in_context):
                continue
            for match in pattern.finditer(text, 0, len(text) if until is None else until):
                current, _ = self.reader.current(text, *match.span())
                if current:
                    return match.group(0)
        return None


class _Lexicon:
    """One language's crisis lexicon: phrases found anywhere (native speakers wrote them)."""

    def __init__(self, entry: Mapping[str, Any]) -> None:
        red = entry.get("red_flag", {}) or {}
        self.self_harm = _pattern(entry.get("self_harm", []), whole_words=False)
        self.overdose = _pattern(entry.get("overdose", []), whole_words=False)
        self.symptoms = _pattern(red.get("symptoms", []), whole_words=False)
        self.context = _pattern(red.get("context", []), whole_words=False)
        self.always = _pattern(red.get("always", []), whole_words=False)

    def read(self, message: str, earlier: Sequence[str]) -> RedFlag | None:
        text = _normal(message)
        before = _normal(" ".join(earlier[-3:]))
        for pattern, kind, tags in ((self.self_harm, "self_harm", ("self_harm",)),
                                    (self.overdose, "overdose", ("medical", "poison")),
                                    (self.always, "symptom", ("medical",))):
            match = _first(pattern, text)
            if match:
                return RedFlag(kind, HARD, match.group(0), tags)
        symptom = _first(self.symptoms, text)
        if symptom and (_first(self.context, text) or _first(self.context, before)):
            return RedFlag("symptom", HARD, symptom.group(0), ("medical", "transplant"))
        return None
