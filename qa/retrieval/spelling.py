"""Spelling tolerance: unknown words near a word of the library become that word.

The dictionary is the library's own vocabulary (every word of every passage, with its count) plus
the concept table's terms — made with the index and stored in it — so a correction always points
at words retrieval can find. A word is only ever corrected when it is unknown: not in that
dictionary and not an English word (symspellpy's English frequency list). So a real drug or
disease name is never turned into another, and ordinary words are left alone. A correction must
also be confident: one best candidate within a small edit distance (rapidfuzz), or a split of a
run-together word ("stemcell") into two known words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib import resources

from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from qa.domain import Correction
from qa.text import WORD, fold

_LETTERS = re.compile(r"^[a-z]+$")
MIN_LENGTH = 4  # shorter words are too ambiguous to correct (and often acronyms)
# Contractions typed without their apostrophe are words, not misspellings ("dont" is not "done").
_NEGATIONS = ("dont doesnt didnt isnt arent wasnt werent cant couldnt wont wouldnt shouldnt "
              "havent hasnt hadnt mustnt neednt aint")
_OTHERS = "im ive id youre youve theyre theyve weve were thats whats hows wheres theres lets"
INFORMAL = frozenset((_NEGATIONS + " " + _OTHERS).split())


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """symspellpy's English frequency list (82,765 words), shipped inside that package."""
    path = resources.files("symspellpy") / "frequency_dictionary_en_82_765.txt"
    with path.open(encoding="utf-8") as lines:
        return frozenset(line.split(" ", 1)[0] for line in lines if line.strip())


class Speller:
    """Corrects the unknown words of a question towards the library's vocabulary (the words of
    its passages, counted when the index was built) and the concept table's terms."""

    def __init__(self, vocabulary: Mapping[str, int], terms: Iterable[str] = (),
                 known: frozenset[str] | None = None) -> None:
        self._vocabulary = dict(vocabulary)
        for term in terms:
            for word in WORD.findall(fold(term)):
                if _LETTERS.match(word):
                    self._vocabulary.setdefault(word, 1)
        self._candidates = [w for w in self._vocabulary if len(w) >= MIN_LENGTH - 1]
        self._known = known if known is not None else english_words()

    def correct(self, text: str) -> tuple[str, list[Correction]]:
        """The text with confident corrections applied, and what was corrected."""
        corrections: list[Correction] = []
        pieces: list[str] = []
        cursor = 0
        for match in WORD.finditer(text):
            word = match.group(0)
            if text[match.end():match.end() + 1] in ("'", "\u2019"):
                continue  # the first half of a contraction ("doesn't"), not a word of its own
            fixed = self.correct_word(fold(word))
            if fixed is not None:
                pieces += [text[cursor:match.start()], fixed]
                cursor = match.end()
                corrections.append(Correction(word, fixed))
        if not corrections:
            return text, []
        pieces.append(text[cursor:])
        return "".join(pieces), corrections

    def correct_word(self, word: str) -> str | None:
        """A confident correction of one folded word, or None to leave it as typed."""
        if len(word) < MIN_LENGTH or not _LETTERS.match(word) or self.is_known(word):
            return None
        split = self._split(word)
        if split:
            return split
        limit = 1 if len(word) <= 5 else 2
        found = process.extract(word, self._candidates, scorer=DamerauLevenshtein.distance,
                                score_cutoff=limit, limit=5)
        if not found:
            return None
        best = min(distance for _, distance, _ in found)
        closest = [candidate for candidate, distance, _ in found if distance == best]
        if len(closest) == 1:
            return str(closest[0])
        # A tie is resolved only by a clear favourite in the library (ten times as common).
        ranked = sorted(closest, key=lambda w: -self._vocabulary[w])
        if self._vocabulary[ranked[0]] >= 10 * self._vocabulary[ranked[1]]:
            return str(ranked[0])
        return None

    def is_known(self, word: str) -> bool:
        return word in self._vocabulary or word in self._known or word in INFORMAL

    def _split(self, word: str) -> str | None:
        """`stemcell` → `stem cell`: both halves library words (at least three letters each)."""
        for cut in range(3, len(word) - 2):
            left, right = word[:cut], word[cut:]
            if left in self._vocabulary and right in self._vocabulary:
                return f"{left} {right}"
        return None
