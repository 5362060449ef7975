"""Pattern rules for the safety triage: loading `triage_rules.yaml` and reading a match in context.

A rule fires when one of its patterns matches the normalised question, its `requires` terms occur
and none of its `unless` terms do. Emergency rules (context `symptom`) also read the words around
the match, so "no fever", "what is febrile neutropenia?" or "my friend had a seizure last year" are
informational while "I can't breathe" or "fever 38.5 after my transplant" are not:

1. a negation cue just before the match cancels it ("no fever");
2. a cue that it is happening now ("right now", "an hour ago", "since") makes it a report;
3. a history cue in the clause ("last year", "as a child") makes it a past event;
4. a report cue just before the match ("I", "my son", "having"), with no hypothetical word
   ("if", "would", "risk") among those words, makes it a report;
5. otherwise a question form ("what is", "how common", "can X cause") makes it informational;
6. a bare mention with none of these ("chest pain after infusion") is treated as a report.

Every decision names the rule and the cue, so a reviewer can see why a question was routed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from qa.errors import ConfigError
from qa.text import fold

CATEGORIES = ("emergency", "out_of_scope", "unproven_clinic", "personal_advice")
_CONTEXTS = ("plain", "symptom", "none")
normalise_for_rules = fold  # the text patterns are matched against


def _compile(patterns: Iterable[str], where: str) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(str(pattern)))
        except re.error as exc:
            raise ConfigError(f"{where}: invalid pattern {pattern!r}: {exc}") from exc
    return tuple(compiled)


def _first(patterns: Sequence[re.Pattern[str]], text: str) -> re.Match[str] | None:
    for pattern in patterns:
        found = pattern.search(text)
        if found:
            return found
    return None


def _strip(text: str, patterns: Sequence[re.Pattern[str]]) -> str:
    for pattern in patterns:
        text = pattern.sub(" ", text)
    return text


def _last_words(text: str, count: int) -> str:
    return " ".join(text.split()[-count:]) if count > 0 else ""


@dataclass(frozen=True)
class Rule:
    id: str
    category: str
    description: str
    patterns: tuple[re.Pattern[str], ...]
    requires: tuple[re.Pattern[str], ...] = ()
    unless: tuple[re.Pattern[str], ...] = ()
    context: str = "plain"
    past_counts: bool = False
    report_anywhere: bool = False
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finding:
    """One rule's verdict on a question: `fired`, or why a match was set aside (`note`)."""

    rule: Rule
    matched: str
    fired: bool
    note: str

    def describe(self) -> str:
        return f"rule {self.rule.id} ('{self.matched}'{', ' + self.note if self.note else ''})"


@dataclass(frozen=True)
class ContextCues:
    """The cue lists of the `context` section, compiled."""

    clause_break: re.Pattern[str]
    negation_window: int
    negation: tuple[re.Pattern[str], ...]
    pseudo_negation: tuple[re.Pattern[str], ...]
    report_window: int
    first_person: tuple[re.Pattern[str], ...]
    report: tuple[re.Pattern[str], ...]  # first_person and the other report cues
    hypothetical: tuple[re.Pattern[str], ...]
    not_hypothetical: tuple[re.Pattern[str], ...]
    informational: tuple[re.Pattern[str], ...]
    informational_question: tuple[re.Pattern[str], ...]
    history: tuple[re.Pattern[str], ...]
    recent: tuple[re.Pattern[str], ...]
    urgent: tuple[re.Pattern[str], ...]
    past_window: int
    past_event: tuple[re.Pattern[str], ...]

    @classmethod
    def from_mapping(cls, data: Mapping,
                     first_person: tuple[re.Pattern[str], ...]) -> ContextCues:
        where = "context"
        if not first_person:
            raise ConfigError("triage rules: terms.first_person is missing or empty")
        try:
            return cls(
                clause_break=re.compile(str(data["clause_break"])),
                negation_window=int(data["negation"]["window_words"]),
                negation=_compile(data["negation"]["cues"], f"{where}.negation"),
                pseudo_negation=_compile(data["negation"].get("not_negation", ()),
                                         f"{where}.negation.not_negation"),
                report_window=int(data["report"]["window_words"]),
                first_person=first_person,
                report=first_person + _compile(data["report"]["cues"], f"{where}.report"),
                hypothetical=_compile(data["hypothetical"], f"{where}.hypothetical"),
                not_hypothetical=_compile(data.get("not_hypothetical", ()),
                                          f"{where}.not_hypothetical"),
                informational=_compile(data["informational"], f"{where}.informational"),
                informational_question=_compile(data["informational_question"],
                                                f"{where}.informational_question"),
                history=_compile(data["history"], f"{where}.history"),
                recent=_compile(data["recent"], f"{where}.recent"),
                urgent=_compile(data["urgent"], f"{where}.urgent"),
                past_window=int(data["past_event"]["window_words"]),
                past_event=_compile(data["past_event"]["cues"], f"{where}.past_event"),
            )
        except (KeyError, TypeError, ValueError, re.error) as exc:
            raise ConfigError(f"triage rules: bad or missing context entry: {exc}") from exc

    def clause_span(self, text: str, start: int, end: int) -> tuple[int, int]:
        """The clause around [start, end): from the last break before it to the first after it."""
        left, right = 0, len(text)
        for brk in self.clause_break.finditer(text):
            if brk.end() <= start:
                left = brk.end()
            elif brk.start() >= end:
                right = brk.start()
                break
        return left, right

    def negation_before(self, text: str, match: re.Match[str]) -> re.Match[str] | None:
        """A negation cue among the few words before the match, in its clause."""
        left, _ = self.clause_span(text, match.start(), match.end())
        before = _strip(text[left:match.start()], self.pseudo_negation)
        return _first(self.negation, _last_words(before, self.negation_window))

    def read(self, rule: Rule, text: str, match: re.Match[str]) -> tuple[bool, str]:
        """(fires, note) for one symptom match in its context; the note names the deciding cue."""
        left, right = self.clause_span(text, match.start(), match.end())
        clause = text[left:right].strip()
        before = text[left:match.start()]
        cue = self.negation_before(text, match)
        if cue:
            return False, f"negated by '{cue.group(0).strip()}'"
        now = _first(self.urgent, text) or _first(self.recent, clause)
        if now:
            return True, f"happening now: '{now.group(0)}'"
        past = _first(self.history, clause)
        if past:
            return False, f"past event: '{past.group(0)}'"
        window = _last_words(before, self.report_window)
        reporter = _first(self.report, window)
        hypothetical = _first(self.hypothetical, _strip(window, self.not_hypothetical))
        if rule.report_anywhere:
            # e.g. thoughts of self-harm: first-person wording anywhere makes it a report, unless
            # the clause is a general question and says nothing about the person.
            person = _first(self.first_person, text)
            general = (_first(self.informational, clause)
                       and not _first(self.first_person, clause))
            if person and not general:
                return True, f"reported: '{person.group(0)}'"
        if reporter and not hypothetical:
            past = _first(self.past_event, _last_words(before, self.past_window))
            if past and not rule.past_counts:
                return False, f"past event: '{past.group(0)}'"
            return True, f"reported: '{reporter.group(0)}'"
        frame = (hypothetical or _first(self.informational, clause)
                 or _first(self.informational_question, text))
        if frame:
            return False, f"informational: '{frame.group(0).strip()}'"
        return True, "stated without a question form"


class RuleSet:
    """The compiled rules and the in-scope vocabulary from one rules file."""

    def __init__(self, rules: Sequence[Rule], cues: ContextCues,
                 scope_terms: Sequence[re.Pattern[str]],
                 terms: Mapping[str, tuple[re.Pattern[str], ...]] | None = None,
                 off_topic_terms: Sequence[re.Pattern[str]] = ()) -> None:
        self.rules = tuple(rules)
        self.cues = cues
        self.scope_terms = tuple(scope_terms)
        self.terms = dict(terms or {})
        self.off_topic_terms = tuple(off_topic_terms)

    @classmethod
    def from_file(cls, path: Path) -> RuleSet:
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read triage rules {path}: {exc}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
            raise ConfigError(f"triage rules {path}: expected a mapping with a 'rules' list")
        return cls.from_mapping(data, str(path))

    @classmethod
    def from_mapping(cls, data: Mapping, where: str = "triage rules") -> RuleSet:
        terms = {name: _compile(items or (), f"{where}: terms.{name}")
                 for name, items in (data.get("terms") or {}).items()}
        cues = ContextCues.from_mapping(data.get("context") or {}, terms.get("first_person", ()))
        seen: set[str] = set()
        rules = []
        for number, raw in enumerate(data["rules"], start=1):
            rule = _rule(raw, terms, f"{where}: rule {number}")
            if rule.id in seen:
                raise ConfigError(f"{where}: duplicate rule id {rule.id!r}")
            seen.add(rule.id)
            rules.append(rule)
        scope_data = data.get("scope") or {}
        scope = _compile(scope_data.get("terms") or (), f"{where}: scope.terms")
        if not scope:
            raise ConfigError(f"{where}: scope.terms (the in-scope vocabulary) is empty")
        off_topic = _compile(scope_data.get("off_topic") or (), f"{where}: scope.off_topic")
        return cls(rules, cues, scope, terms, off_topic)

    def evaluate(self, question: str) -> list[Finding]:
        """Every rule whose pattern matched, in file order: fired, or set aside with a note."""
        text = normalise_for_rules(question)
        findings = []
        for rule in self.rules:
            finding = self._evaluate_rule(rule, text)
            if finding:
                findings.append(finding)
        return findings

    def scope_term(self, question: str) -> str | None:
        """The first in-scope vocabulary term in the question, if any."""
        found = _first(self.scope_terms, normalise_for_rules(question))
        return found.group(0) if found else None

    def off_topic_term(self, question: str) -> str | None:
        """The first off-topic vocabulary term in the question, if any."""
        found = _first(self.off_topic_terms, normalise_for_rules(question))
        return found.group(0) if found else None

    def has_term(self, name: str, question: str) -> bool:
        """Whether the question contains a term of the named set (`terms.<name>`)."""
        return _first(self.terms.get(name, ()), normalise_for_rules(question)) is not None

    def _evaluate_rule(self, rule: Rule, text: str) -> Finding | None:
        matches = [m for p in rule.patterns for m in p.finditer(text)]
        if not matches:
            return None
        first = matches[0].group(0)
        if rule.requires and not _first(rule.requires, text):
            return None
        blocker = _first(rule.unless, text)
        if blocker:
            return Finding(rule, first, False, f"except: '{blocker.group(0)}'")
        note = ""
        for match in matches:
            if rule.context == "none":
                return Finding(rule, match.group(0), True, "")
            if rule.context == "plain":
                cue = self.cues.negation_before(text, match)
                if not cue:
                    return Finding(rule, match.group(0), True, "")
                note = f"negated by '{cue.group(0).strip()}'"
                continue
            fires, note = self.cues.read(rule, text, match)
            if fires:
                return Finding(rule, match.group(0), True, note)
        return Finding(rule, first, False, note)


def _rule(raw: object, terms: Mapping[str, tuple[re.Pattern[str], ...]], where: str) -> Rule:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: each rule must be a mapping")
    try:
        rule_id = str(raw["id"])
        category = str(raw["category"])
        patterns = _compile(raw["patterns"], f"{where} ({rule_id}) patterns")
    except KeyError as exc:
        raise ConfigError(f"{where}: missing field {exc}") from exc
    if category not in CATEGORIES:
        raise ConfigError(f"{where} ({rule_id}): category must be one of {', '.join(CATEGORIES)}")
    context = str(raw.get("context", "plain"))
    if context not in _CONTEXTS:
        raise ConfigError(f"{where} ({rule_id}): context must be one of {', '.join(_CONTEXTS)}")
    if not patterns:
        raise ConfigError(f"{where} ({rule_id}): no patterns")
    requires: list[re.Pattern[str]] = []
    for item in raw.get("requires") or ():
        item = str(item)
        if item.startswith("@"):
            if item[1:] not in terms:
                raise ConfigError(f"{where} ({rule_id}): unknown term set {item}")
            requires.extend(terms[item[1:]])
        else:
            requires.extend(_compile([item], f"{where} ({rule_id}) requires"))
    return Rule(
        id=rule_id, category=category, description=str(raw.get("description", "")),
        patterns=patterns, requires=tuple(requires),
        unless=_compile(raw.get("unless") or (), f"{where} ({rule_id}) unless"),
        context=context, past_counts=bool(raw.get("past_counts", False)),
        report_anywhere=bool(raw.get("report_anywhere", False)),
        tags=tuple(str(t) for t in raw.get("tags") or ()),
    )
