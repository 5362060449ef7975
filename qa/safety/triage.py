"""Safety triage: every question is routed before retrieval, and the reply says why.

Two transparent, operator-editable sources of evidence decide (both are YAML files, no remote
service):

- pattern rules with negation and context handling (`triage_rules.yaml`, see qa/safety_rules.py);
- similarity, with the retrieval model, to curated example questions per category
  (`triage_examples.yaml`), each compared with the nearest ordinary (`general`) example.

Categories, highest priority first: emergency > out_of_scope > unproven_clinic > personal_advice >
general. A question can carry several flags (personal_advice together with unproven_clinic); its
category is the highest. The reason names the rule or example that decided each flag.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from qa.domain import Triage
from qa.encoders import Embedder
from qa.errors import ConfigError
from qa.settings import Settings, setting_default
from qa.safety.rules import Finding, RuleSet, normalise_for_rules

PRIORITY = ("emergency", "out_of_scope", "unproven_clinic", "personal_advice")
EXAMPLE_CATEGORIES = PRIORITY + ("general",)
FLAGGED = ("unproven_clinic", "personal_advice")


@dataclass(frozen=True)
class Nearest:
    """The closest example of one category."""

    id: str
    text: str
    similarity: float
    tags: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"example {self.id} (similarity {self.similarity:.2f}: \"{self.text}\")"


@dataclass(frozen=True)
class Example:
    """A curated question; `tags` select the emergency wording (e.g. self_harm)."""

    text: str
    tags: tuple[str, ...] = ()


class ExampleBank:
    """Curated example questions per category, encoded once with the retrieval model."""

    def __init__(self, examples: Mapping[str, Mapping[str, Example]], embedder: Embedder) -> None:
        self.ids: list[str] = []
        self.texts: list[str] = []
        self.tags: list[tuple[str, ...]] = []
        # Rows are added category by category, so each category is one run of rows: a slice of
        # the similarities (a view) instead of a gathered copy per category and question.
        runs: dict[str, slice] = {}
        for category, items in examples.items():
            start = len(self.ids)
            for example_id, example in items.items():
                self.ids.append(example_id)
                self.texts.append(example.text)
                self.tags.append(example.tags)
            if len(self.ids) > start:
                runs[category] = slice(start, len(self.ids))
        self._rows = {c: runs[c] for c in EXAMPLE_CATEGORIES if c in runs}
        self.vectors = embedder.encode(self.texts) if self.texts else np.zeros((0, 1), np.float32)

    @classmethod
    def from_file(cls, path: Path, embedder: Embedder) -> ExampleBank:
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read triage examples {path}: {exc}") from exc
        return cls(validate_examples(data, str(path)), embedder)

    def nearest(self, vector: np.ndarray) -> dict[str, Nearest]:
        """The most similar example of every category that has examples."""
        if not self.texts:
            return {}
        sims = self.vectors @ vector
        best = {}
        for category, rows in self._rows.items():
            row = rows.start + int(sims[rows].argmax())
            best[category] = Nearest(self.ids[row], self.texts[row], float(sims[row]),
                                     self.tags[row])
        return best


def validate_examples(data: object, where: str) -> dict[str, dict[str, Example]]:
    """The example file as {category: {id: Example}}, or a ConfigError naming the problem.

    An example is a question string, or a mapping {text: question, tags: [...]} (tags select the
    reply wording for emergencies, e.g. self_harm).
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping of categories")
    examples: dict[str, dict[str, Example]] = {}
    seen: set[str] = set()
    for category, items in data.items():
        if category == "version":
            continue
        if category not in EXAMPLE_CATEGORIES:
            raise ConfigError(f"{where}: unknown category {category!r} "
                              f"(expected one of {', '.join(EXAMPLE_CATEGORIES)})")
        if not isinstance(items, dict):
            raise ConfigError(f"{where}: {category} must map example ids to questions")
        examples[category] = {}
        for example_id, value in items.items():
            if example_id in seen:
                raise ConfigError(f"{where}: duplicate example id {example_id!r}")
            seen.add(example_id)
            text, tags = (value.get("text"), value.get("tags") or ()) if isinstance(value, dict) \
                else (value, ())
            if not isinstance(text, str) or not text.strip():
                raise ConfigError(f"{where}: example {example_id!r} has no question text")
            examples[category][str(example_id)] = Example(text, tuple(str(t) for t in tags))
    if "general" not in examples or "out_of_scope" not in examples:
        raise ConfigError(f"{where}: needs at least 'general' and 'out_of_scope' examples")
    return examples


@dataclass(frozen=True)
class Thresholds:
    """Example-similarity thresholds (see the settings of the same names)."""

    example: float = setting_default("triage_example_min_similarity")
    margin: float = setting_default("triage_example_margin")
    emergency: float = setting_default("triage_emergency_min_similarity")
    emergency_margin: float = setting_default("triage_emergency_margin")
    out_of_scope: float = setting_default("out_of_scope_min_similarity")
    out_of_scope_margin: float = setting_default("out_of_scope_margin")


class Triager:
    """Routes a question: emergency, out_of_scope, unproven_clinic, personal_advice or general."""

    def __init__(self, rules: RuleSet, examples: ExampleBank, embedder: Embedder,
                 thresholds: Thresholds = Thresholds()) -> None:
        self.rules = rules
        self.examples = examples
        self.embedder = embedder
        self.thresholds = thresholds

    @classmethod
    def from_settings(cls, settings: Settings, embedder: Embedder) -> Triager:
        """Rules and examples from the configured files; the examples are encoded here, once."""
        thresholds = Thresholds(
            example=settings.triage_example_min_similarity,
            margin=settings.triage_example_margin,
            emergency=settings.triage_emergency_min_similarity,
            emergency_margin=settings.triage_emergency_margin,
            out_of_scope=settings.out_of_scope_min_similarity,
            out_of_scope_margin=settings.out_of_scope_margin,
        )
        return cls(RuleSet.from_file(settings.triage_rules_file),
                   ExampleBank.from_file(settings.triage_examples_file, embedder),
                   embedder, thresholds)

    def triage(self, question: str) -> Triage:
        """Route one question (encoded once, with the retrieval model)."""
        return self.decide(question, self.embedder.encode([question])[0])

    def triage_many(self, questions: Sequence[str]) -> list[Triage]:
        """Route many questions, encoded in one batch (for evaluation)."""
        if not questions:
            return []
        vectors = self.embedder.encode(list(questions))
        return [self.decide(q, v) for q, v in zip(questions, vectors)]

    def decide(self, question: str, vector: np.ndarray, earlier: Sequence[str] = ()) -> Triage:
        """The triage of a question whose embedding is already known."""
        findings = self.rules.evaluate(question)
        nearest = self.examples.nearest(vector)
        scope = self.rules.scope_term(question)  # read once: two steps below need it
        reasons: dict[str, str] = {}
        for category in PRIORITY:
            reason = self._decide(category, question, findings, nearest, scope)
            if reason:
                reasons[category] = reason
        if "emergency" in reasons:
            return Triage("emergency", f"emergency: {reasons['emergency']}", ("emergency",),
                          self._emergency_tags(question, findings, nearest))
        if "out_of_scope" in reasons:
            return Triage("out_of_scope", f"out_of_scope: {reasons['out_of_scope']}")
        flags = tuple(c for c in FLAGGED if c in reasons)
        if flags:
            return Triage(flags[0], "; ".join(f"{c}: {reasons[c]}" for c in flags), flags)
        return Triage("general", self._general_reason(findings, nearest, scope))

    # --- one category at a time ----------------------------------------------------------------
    def _decide(self, category: str, question: str, findings: list[Finding],
                nearest: Mapping[str, Nearest], scope: str | None) -> str | None:
        matched = [f for f in findings if f.rule.category == category]
        fired = [f for f in matched if f.fired]
        if fired:
            return fired[0].describe()
        if category == "out_of_scope":
            return self._out_of_scope_by_vocabulary_or_example(question, nearest, scope)
        example = nearest.get(category)
        if example is None or matched:
            # A rule that matched but was set aside after reading the context (negated, a past
            # event, a question about the subject, an `unless` term) outranks a similar example.
            return None
        general = nearest.get("general")
        lead = example.similarity - (general.similarity if general else -1.0)
        t = self.thresholds
        minimum, margin = ((t.emergency, t.emergency_margin) if category == "emergency"
                           else (t.example, t.margin))
        if example.similarity >= minimum and lead >= margin:
            return f"{example.describe()}, {lead:.2f} above the nearest general example"
        return None

    def _out_of_scope_by_vocabulary_or_example(self, question: str, nearest: Mapping[str, Nearest],
                                               scope: str | None) -> str | None:
        """Only a question with no in-scope term: an off-topic term, or a clearly closer example."""
        if scope:
            return None
        term = self.rules.off_topic_term(question)
        if term:
            return f"no in-scope term; off-topic term '{term}'"
        example = nearest.get("out_of_scope")
        if example is None:
            return None
        closest_in_scope = max((n.similarity for c, n in nearest.items() if c != "out_of_scope"),
                               default=-1.0)
        if (example.similarity >= self.thresholds.out_of_scope
                and example.similarity - closest_in_scope >= self.thresholds.out_of_scope_margin):
            return f"no in-scope term; nearest {example.describe()}"
        return None

    def _emergency_tags(self, question: str, findings: list[Finding],
                        nearest: Mapping[str, Nearest]) -> tuple[str, ...]:
        """What the emergency message must mention: self_harm (crisis line), medical (call the
        emergency number), transplant (the transplant team's line)."""
        fired = [f for f in findings if f.fired and f.rule.category == "emergency"]
        sources = [f.rule.tags for f in fired] or [nearest["emergency"].tags]
        tags: list[str] = []
        for source in sources:
            tags.extend(t for t in source if t not in tags)
            if "self_harm" not in source and "medical" not in tags:
                tags.append("medical")
        if "transplant" not in tags and self.rules.has_term("transplant_context", question):
            tags.append("transplant")
        return tuple(tags)

    def _general_reason(self, findings: list[Finding], nearest: Mapping[str, Nearest],
                        scope: str | None) -> str:
        parts = ["no safety rule fired"]
        if scope:
            parts.append(f"in scope ('{scope}')")
        else:
            parts.append("no in-scope term but not clearly off-topic"
                         + (f" (nearest {nearest['general'].describe()})" if "general" in nearest
                            else ""))
        set_aside = [f.describe() for f in findings if not f.fired]
        if set_aside:
            parts.append("set aside: " + ", ".join(set_aside))
        return "general: " + "; ".join(parts)


def explain(triager: Triager, question: str) -> dict[str, object]:
    """A reviewer's view of one decision: the triage plus every rule match and nearest example."""
    vector = triager.embedder.encode([question])[0]
    result = triager.decide(question, vector)
    nearest = triager.examples.nearest(vector)
    return {
        "question": question,
        "normalised": normalise_for_rules(question),
        "category": result.category,
        "flags": list(result.flags),
        "tags": list(result.tags),
        "reason": result.reason,
        "rules": [f.describe() + (" FIRED" if f.fired else "") for f in
                  triager.rules.evaluate(question)],
        "nearest": {c: n.describe() for c, n in nearest.items()},
        "scope_term": triager.rules.scope_term(question),
    }
