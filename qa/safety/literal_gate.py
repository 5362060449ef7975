"""Which of many regexes could match a text, from one Aho-Corasick pass over literal strings.

The safety triage tries some 30 rules and 40 vocabulary patterns on every question, and Python's
`re` searches each one separately, mostly to find nothing. For every pattern this module reads,
from the pattern's own parse tree, a set of literal strings of which any match must contain at
least one ("fever", "feaver", "febrile", ...). One pass of an Aho-Corasick automaton over the
question then names the patterns that could match; only those are searched with `re`.

The gate must never hide a match, so the reading is conservative: a construct it does not know
(case-insensitive flags, a group that can repeat zero times, a class of characters) contributes
no literal, and a pattern with no required literal at all is always searched. The gate only
decides which patterns are worth searching; `re` still decides what matched.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import ahocorasick

try:  # the regex parser's own tree and opcodes (Python 3.11+); private, so guarded
    import re._constants as sre  # noqa: PLC2701
    import re._parser as sre_parse  # noqa: PLC2701

    _REPEATS: tuple = (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT)
except (ImportError, AttributeError):  # a Python without them: every pattern is always searched
    sre = sre_parse = None
    _REPEATS = ()


def required_literals(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """Strings of which every match of `pattern` contains at least one; None if unknown."""
    if sre_parse is None or pattern.flags & re.IGNORECASE:
        return None
    try:
        parsed = sre_parse.parse(pattern.pattern, pattern.flags)
    except (re.error, RecursionError, TypeError):
        return None
    if parsed.state.flags & re.IGNORECASE:
        return None
    found = _required(parsed)
    return frozenset(found) if found and all(found) else None


def _required(sequence) -> set[str] | None:
    """For a sequence of parse items: the most selective requirement among its items (every item
    of a sequence takes part in every match, so any one item's requirement holds for the whole)."""
    options: list[set[str]] = []
    run: list[str] = []
    for op, argument in sequence:
        if op is sre.LITERAL:
            run.append(chr(argument))
            continue
        if run:
            options.append({"".join(run)})
            run = []
        found = _item(op, argument)
        if found:
            options.append(found)
    if run:
        options.append({"".join(run)})
    if not options:
        return None
    # Prefer long literals (rarely present by chance), then few of them.
    return max(options, key=lambda strings: (min(map(len, strings)), -len(strings)))


def _item(op, argument) -> set[str] | None:
    if op is sre.SUBPATTERN:
        _group, add_flags, del_flags, inner = argument
        return None if add_flags or del_flags else _required(inner)
    if op is sre.BRANCH:
        alternatives = [_required(branch) for branch in argument[1]]
        if any(not found for found in alternatives):
            return None  # one alternative with no requirement: the branch requires nothing
        return set().union(*alternatives)
    if op in _REPEATS:
        minimum, _maximum, inner = argument
        return _required(inner) if minimum >= 1 else None
    return None  # classes, anchors, look-arounds, back-references: no literal required


class LiteralGate:
    """Answers "which of these patterns could match this text?" in one pass over the text."""

    def __init__(self, patterns: Sequence[re.Pattern[str] | None]) -> None:
        always: set[int] = set()
        owners: dict[str, list[int]] = {}
        for number, pattern in enumerate(patterns):
            literals = required_literals(pattern) if pattern is not None else None
            if literals is None:
                always.add(number)
                continue
            for literal in literals:
                owners.setdefault(literal, []).append(number)
        self._always = frozenset(always)
        self._automaton = ahocorasick.Automaton()
        for literal, numbers in owners.items():
            self._automaton.add_word(literal, tuple(numbers))
        self._searchable = bool(owners)
        if self._searchable:
            self._automaton.make_automaton()

    def possible(self, text: str) -> set[int]:
        """Numbers of the patterns that could match `text` (a superset of those that do)."""
        numbers = set(self._always)
        if self._searchable:
            for _end, owners in self._automaton.iter(text):
                numbers.update(owners)
        return numbers

    @property
    def always_searched(self) -> frozenset[int]:
        """Patterns without a required literal (searched for every text): for the tests and docs."""
        return self._always
