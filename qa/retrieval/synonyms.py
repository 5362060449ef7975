"""The concept table: synonyms, acronyms, brand and generic names and spellings, as groups.

Dense retrieval understands paraphrase but not every acronym or brand; BM25 only matches words.
So when a question names any term of a group, `expand` adds the group's other terms to what
retrieval searches, and `mentions` says which concepts (conditions, treatments, drugs, trials…)
a text names — what follow-up questions carry forward and the gap report counts. The table is
a YAML file operators can extend (qa/data/synonyms.yaml).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import ahocorasick
import yaml

from qa.errors import ConfigError
from qa.text import fold
from qa.yaml_data import load_yaml

KINDS = ("condition", "treatment", "procedure", "drug", "trial", "product", "regulator", "topic",
         "spelling")
# A name as typed is the library's own word for its concept only when the library writes it at
# least this share as often as its usual word for the concept. An acronym the library spells out
# and writes only in passing ("MG" beside "myasthenia gravis", or in "10 mg") is not: the model
# reads it as nothing, and abstention would judge it as if the library used it (docs/design.md).
MIN_OWN_WORD_SHARE = 0.25
# Where a term that is also a unit of measure (a group's `units`: "mg") is the unit: after a
# number ("400 mg") or before what follows a unit ("mg of prednisolone", "mg per kg", "mg/day",
# "mg a day"). Anywhere else it names the concept ("my MG is getting worse", "MG/CIDP").
_NUMBER_BEFORE = re.compile(r"\d\s*$")
_UNIT_CONTEXT_AFTER = re.compile(
    r"/\s*(?:kg|day|d|ml|dl|l|m2|week|wk|hr|h|dose)(?![\w-])"
    r"|\s*(?:of|per|a day|a week|daily|weekly)(?![\w-])")


@dataclass(frozen=True)
class Group:
    concept: str  # the first term: the concept's name
    kind: str
    terms: tuple[str, ...]
    expand: bool = True
    # The class the concept belongs to, in the library's words ("fingolimod" → "disease-modifying
    # therapy"): added when the concept is named, but naming the class does not name the concept.
    broader: tuple[str, ...] = ()
    # The one condition of the library a drug is taken for ("glatiramer" → "multiple sclerosis"),
    # for drugs with a single such use: a question naming only the drug is about that condition.
    treats: str = ""
    # Terms that are also units of measure ("mg": milligrams, besides myasthenia gravis).
    units: tuple[str, ...] = ()

    @property
    def description(self) -> str:
        """The concept's names and its class: the text its vector is made from."""
        return ", ".join(self.terms + self.broader)


@dataclass(frozen=True)
class Mention:
    """A concept named in a text: where, and in which words."""

    concept: str
    kind: str
    surface: str
    start: int
    end: int


class SynonymTable:
    """Groups of equivalent terms; `expand` appends the other terms of every group found."""

    def __init__(self, groups: list[Group], sound_alikes: Mapping[str, str] | None = None,
                 names: Mapping[str, Group] | None = None) -> None:
        # Empty groups are dropped here, so groups and patterns stay paired one to one.
        self._groups = [g for g in groups if g.terms]
        # The concepts that are names (not topics or spellings), for `in_library_words`; a
        # table derived by `classes_only_for_unnamed` keeps its parent's, classes and all.
        self._names = dict(names) if names is not None else {
            g.concept: g for g in self._groups if g.kind not in ("spelling", "topic")}
        # Real words typed for the word meant ("stem sell"): the speller's, kept with the table.
        self.sound_alikes = dict(sound_alikes or {})
        self._patterns = [
            re.compile(r"(?<![\w-])(?:" + "|".join(
                re.escape(v) for v in sorted(g.terms, key=len, reverse=True)) + r")(?![\w-])")
            for g in self._groups
        ]
        # Which groups have a term inside a text, in one Aho-Corasick pass instead of a
        # substring test per term; the group's regex then only checks the word boundaries.
        self._terms = ahocorasick.Automaton()
        owners: dict[str, list[int]] = {}
        for number, group in enumerate(self._groups):
            for term in group.terms:
                owners.setdefault(term, []).append(number)
        for term, numbers in owners.items():
            self._terms.add_word(term, tuple(numbers))
        if owners:
            self._terms.make_automaton()

    @classmethod
    def from_file(cls, path: Path) -> SynonymTable:
        try:
            data = load_yaml(path.read_text(encoding="utf-8")) or {}
            raw = data.get("groups", [])
            if not isinstance(raw, list):
                raise ValueError("'groups' must be a list")
            groups = [_group(item, number) for number, item in enumerate(raw, start=1)]
            conditions = {g.concept for g in groups if g.kind == "condition"}
            for group in groups:
                if group.treats and group.treats not in conditions:
                    raise ValueError(f"'{group.concept}' treats '{group.treats}', which is not "
                                     "the first term of a condition")
            alikes = data.get("sound_alikes") or {}
            if not isinstance(alikes, dict) or not all(
                    isinstance(k, str) and isinstance(v, str) and k.strip() and v.strip()
                    for k, v in alikes.items()):
                raise ValueError("'sound_alikes' must map a phrase to a phrase")
        except (OSError, yaml.YAMLError, ValueError, AttributeError, TypeError) as exc:
            raise ConfigError(f"cannot read synonym table {path}: {exc}") from exc
        return cls(groups, {k.strip(): v.strip() for k, v in alikes.items()})

    @classmethod
    def of_terms(cls, groups: list[list[str]], kind: str = "topic") -> SynonymTable:
        """A table from plain lists of terms (tests and small tools)."""
        return cls([_group({"kind": kind, "terms": g}, n) for n, g in enumerate(groups, start=1)
                    if any(str(t).strip() for t in g)])

    def classes_only_for_unnamed(self, library_says: Callable[[str], bool]) -> SynonymTable:
        """The table whose word search (`expand`) adds a concept's class only where the library
        never names the concept in any of its words: the class then stands in for it
        ("ublituximab", which the library never mentions, searches "disease-modifying
        therapy"), while a drug the library does name is found by its own name, undiluted.
        The dense wording (`in_library_words`) keeps every class: the model knows "JAK
        inhibitor" but not "baricitinib", named in the library or not (docs/design.md)."""
        groups = [g if not g.broader or not any(library_says(t) for t in g.terms)
                  else replace(g, broader=()) for g in self._groups]
        return SynonymTable(groups, self.sound_alikes, self._names)

    @property
    def groups(self) -> tuple[Group, ...]:
        return tuple(self._groups)

    def expand(self, query: str) -> str:
        """The query plus the other terms of every expanding group it mentions, and the
        condition its drugs imply (`implied_condition`)."""
        lowered = fold(query)
        named = self._named(lowered)
        extra: list[str] = []
        for group in named:
            if group.expand:
                extra.extend(t for t in group.terms if t not in lowered)
                # A class named by several of the question's drugs is added once.
                extra.extend(c for c in group.broader if c not in lowered and c not in extra)
        condition = _implied_condition(named)
        if condition and condition not in extra:
            extra.append(condition)
        return query if not extra else query + " " + " ".join(extra)

    def implied_condition(self, text: str) -> str:
        """The condition a text is about when it names none but names drugs taken for exactly
        one of the library's conditions ("copaxone for 10 years, too late for hsct?" → multiple
        sclerosis); otherwise "". Why: the library's passages on candidacy, risks and trials
        are written per condition, and without it a question that names only the drug ranks
        another condition's passages on the same procedure. Only the word search adds it: the
        dense query with it too lost a gold question and medicine-logistics questions, where
        the condition pulled condition pages above the medicines ones (docs/design.md)."""
        return _implied_condition(self._named(fold(text)))

    def _named(self, lowered: str) -> list[Group]:
        """The groups a folded text names, in table order."""
        return [self._groups[number] for number in self._mentioned(lowered)
                if self._naming_match(number, lowered)]

    def _naming_match(self, number: int, lowered: str) -> re.Match[str] | None:
        """The first place a folded text names group `number`'s concept."""
        return next((m for m in self._patterns[number].finditer(lowered)
                     if not self._unit_here(number, m)), None)

    def _unit_here(self, number: int, match: re.Match[str]) -> bool:
        """Whether a term of group `number`, found at `match`, is a unit of measure there and
        names nothing ("how many mg of prednisolone" is not about myasthenia gravis)."""
        return match.group(0) in self._groups[number].units and bool(
            _NUMBER_BEFORE.search(match.string, 0, match.start())
            or _UNIT_CONTEXT_AFTER.match(match.string, match.end()))

    def in_library_words(self, text: str, library_count: Callable[[str], int]) -> str:
        """What the dense model reads: the text (folded) with each name the library never uses
        put in the library's own word for it ("does aHSCT replace Ocrevus?" → "... replace
        ocrelizumab?"), and each drug followed by its class ("baricitinib JAK inhibitor");
        the text unchanged when there is nothing to put. The library's passages say
        "ocrelizumab", so that is where their vectors sit; the model makes little of "Ocrevus"
        and less of a generic name it has rarely seen. Topics ("price", "kids") are not names
        and stay; so does a name inside the library's or around it ("hsct", "ahsct"), which
        the model already reads alike (rewriting those lost follow-ups: docs/design.md). A name
        the library writes only in passing is not its word for the concept (`own_word`): "MG"
        → "myasthenia gravis". A drug with a class is put in the library's first word for it
        even when the library mentions the typed brand in passing ("Gilenya" → "fingolimod"):
        its passages are written on the generic, and keeping the brand ranked worse
        (docs/design.md). `library_count` says how often the library writes a term."""
        lowered = fold(text)
        edited, left = lowered, len(lowered)
        for mention in sorted(self.mentions(text), key=lambda m: -m.start):
            group = self._names.get(mention.concept)
            if group is None or mention.end > left:
                continue  # a topic, or inside a name already put
            surface = fold(mention.surface)
            said = next((t for t in group.terms if library_count(t)), None)
            alike = said is not None and (surface in said or said in surface)
            if not group.broader and (alike or said is None
                                      or self.own_word(mention, library_count)):
                continue  # the library's own word, one it reads alike, or none to put
            name = said if said is not None and not alike else surface
            if group.broader:
                name = f"{name} {' '.join(group.broader)}"
            edited = edited[:mention.start] + name + edited[mention.end:]
            left = mention.start
        return edited if edited != lowered else text

    def own_word(self, mention: Mention, library_count: Callable[[str], int]) -> bool:
        """Whether the library writes a mention's words as its own for the concept: at least a
        share (MIN_OWN_WORD_SHARE) as often as its usual word for it, the first of the
        concept's terms it writes. A topic's words are the library's whenever it writes them."""
        used = library_count(mention.surface)
        group = self._names.get(mention.concept)
        usual = next((n for n in map(library_count, group.terms) if n), 0) if group else 0
        return used > 0 and used >= MIN_OWN_WORD_SHARE * usual

    def without(self, text: str, kinds: frozenset[str]) -> str:
        """The text with every term of the given kinds of concept taken out (lower-cased)."""
        lowered = fold(text)
        for number in self._mentioned(lowered):
            if self._groups[number].kind in kinds:
                lowered = self._patterns[number].sub(partial(self._taken_out, number), lowered)
        return lowered

    def _taken_out(self, number: int, match: re.Match[str]) -> str:
        """What `without` leaves of a term: the term where it is a unit, else a space."""
        return match.group(0) if self._unit_here(number, match) else " "

    def mentions(self, text: str) -> list[Mention]:
        """Every concept the text names (spelling variants excluded), in text order. Offsets
        are into `fold(text)`."""
        lowered = fold(text)
        # Surfaces in the writer's own case where folding kept every offset (a normalised
        # question: only case and apostrophes change).
        original = text if len(text) == len(lowered) else lowered
        found = []
        for number in self._mentioned(lowered):
            group = self._groups[number]
            if group.kind == "spelling":
                continue
            match = self._naming_match(number, lowered)
            if match:
                found.append(Mention(group.concept, group.kind,
                                     original[match.start():match.end()], match.start(),
                                     match.end()))
        return sorted(found, key=lambda m: (m.start, -m.end))

    def _mentioned(self, lowered: str) -> list[int]:
        if not self._groups:
            return []
        return sorted({number for _, numbers in self._terms.iter(lowered) for number in numbers})


def _implied_condition(named: Sequence[Group]) -> str:
    if any(group.kind == "condition" for group in named):
        return ""
    conditions = {group.treats for group in named if group.kind == "drug"} - {""}
    return conditions.pop() if len(conditions) == 1 else ""


def _group(item: object, number: int) -> Group:
    if not isinstance(item, dict):
        raise ValueError(f"group {number}: expected {{kind, terms}}")
    kind = str(item.get("kind", ""))
    if kind not in KINDS:
        raise ValueError(f"group {number}: kind must be one of {', '.join(KINDS)}")
    terms = [fold(str(t)) for t in item.get("terms") or () if str(t).strip()]
    if not terms:
        raise ValueError(f"group {number}: needs at least one term")
    broader = item.get("broader") or []
    if not isinstance(broader, list):
        raise ValueError(f"group {number}: 'broader' must be a list of terms")
    classes = tuple(dict.fromkeys(fold(str(t)) for t in broader if str(t).strip()))
    treats = item.get("treats") or ""
    if not isinstance(treats, str) or (treats and kind != "drug"):
        raise ValueError(f"group {number}: 'treats' must be one condition, on a drug")
    units = item.get("units") or []
    if not isinstance(units, list) or any(fold(str(u)) not in terms for u in units):
        raise ValueError(f"group {number}: 'units' must be a list of the group's own terms")
    return Group(terms[0], kind, tuple(dict.fromkeys(terms)), bool(item.get("expand", True)),
                 tuple(c for c in classes if c not in terms), fold(treats.strip()),
                 tuple(fold(str(u)) for u in units))
