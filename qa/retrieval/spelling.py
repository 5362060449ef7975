"""Spelling tolerance: unknown words near a word of the library become that word.

The dictionary is the library's own vocabulary (every word of every passage, with its count) plus
the concept table's terms — made with the index and stored in it — so a correction always points
at words retrieval can find. A word is only ever corrected when it is unknown: not in that
dictionary and not an English word (symspellpy's English frequency list). So a real drug or
disease name is never turned into another, and ordinary words are left alone. A medical word of
NIH consumer-health text that neither list has (qa/data/medical_words.txt) is corrected only by a
single slip ("sclerosus" typed for sclerosis), never by two edits ("nephrologist" is not
"neurologist", "areata" is not "area"). A common prefix before a library or medical word
("bispecific", "revaccinated", "avascular") makes a word too, not a slip, and a word of a
country's name ("Costa Rica") is left as typed. A correction must
also be confident: one best candidate within a small edit distance (rapidfuzz), or a split of a
run-together word ("stemcell") into two known words. Candidates that are forms of one word
("relapse", "relapses"; "anaemia", "anemia") count as one. A word the library never uses may
still be misspelt ("congnitive", "incontinance"): when no library word is near, the nearest
English word with the same first letter is taken if it is a clear favourite, so the model reads
the word that was meant — two edits away only for a long word: a shorter one is likelier a word
of the field the lists lack ("oximeter" is not "odometer").
A medicine's name (the index's list of drug names) is only ever corrected into another spelling
of the same medicine ("gilenia" into "gilenya"), never into another word ("Ozempic" is not
"olympic").
A word spelt by ear ("loopus", "nefritis", "cyclofosfamide") becomes the library word that
sounds the same (jellyfish's phonetic codes), even when another word is nearer in letters.
Dictation and swipe keyboards type real words, which no dictionary check sees: two or three
words that make a library word together ("trans plant") are joined, and an English word the
library never uses becomes the library word one slip away that the library writes beside its
neighbour ("steam cell" → "stem cell"; the library's frequent word pairs, counted with the index).
A speech recogniser writes a name it does not know as the everyday words it heard ("rituals
mab", "neutron epic", "crones"): one to four such words that sound like a spoken name of the
concept table, a medicine or a medical word the library uses (Metaphone; one sound may differ in
a run of words), look like it, and begin with its letter become that name — never across a
function word (but "a" inside a name and "us" ending one), never when a word of the run is
already a name or medicine, and never when the words are what a recogniser writes for what it
did hear: an everyday word pair ("meal plan"), a common word alone ("prison"), or a name that is
itself a common English word ("person"). A first version without those limits "corrected" one
ordinary typed message in a hundred (docs/design.md).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

import jellyfish
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA, DamerauLevenshtein

from qa.domain import Correction
from qa.text import FREQUENT_PAIR, STOP_WORDS, WORD, fold, stem

_LETTERS = re.compile(r"^[a-z]+$")
MIN_LENGTH = 4  # shorter words are too ambiguous to correct (and often acronyms)
# Contractions typed without their apostrophe are words, not misspellings ("dont" is not "done").
_NEGATIONS = ("dont doesnt didnt isnt arent wasnt werent cant couldnt wont wouldnt shouldnt "
              "havent hasnt hadnt mustnt neednt aint")
_OTHERS = "im ive id youre youve theyre theyve weve were thats whats hows wheres theres lets"
INFORMAL = frozenset((_NEGATIONS + " " + _OTHERS).split())
# Beginnings whose first letter is not heard, so a word is typed from the second ("soriasis",
# "neumonia", "nuckle"), and "ph" typed as it sounds ("fotosensitivity").
_SILENT_STARTS = {"s": ("ps",), "n": ("pn", "kn", "gn"), "r": ("wr",), "f": ("ph",)}
# Prefixes that make new medical words from known ones ("premedication", "bispecific",
# "revaccinated", "avascular"): such a word is a word, not a slip. Not "dis", "de", "un", "co" or
# "mis", whose short everyday words make misspellings look derived ("discease" is dis + cease).
_PREFIXES = ("anti", "auto", "bi", "hyper", "hypo", "inter", "intra", "micro", "mono", "multi",
             "non", "peri", "poly", "post", "pre", "pseudo", "re", "semi", "sub", "trans", "tri",
             "ultra")
# The shortest known word a prefix may stand before: shorter ones make misspellings look derived
# ("presure" is pre + sure); a bare "a" ("avascular", "acellular") needs a longer one still.
MIN_DERIVED_BASE = 6
MIN_A_BASE = 7
MIN_ENGLISH_BASE = 8  # an English word behind a prefix: "refactory" (re + factory) is a slip
# The shortest word an English word two edits away may correct (docs/design.md).
MIN_TWO_EDIT_ENGLISH = 9
# The shortest library word that two or three typed words may join into ("trans plant"): shorter
# joins are everyday pairs ("any one", "may be").
MIN_JOINED = 7
# The shortest joined word that may also be one slip from a library word or medicine name
# ("filgrass tim"): shorter joins of two real words find a near word too often.
MIN_JOINED_SLIP = 9
# Letters dictated one by one ("f d a", "m h r a", "en em oh ess dee") join into the library's
# acronym; spelt with their names ("em aitch are ay"), at least this many letters, because
# two letter names are everyday pairs too often ("see you", "are you").
MAX_SPELT_LETTERS = 5
MIN_NAMED_LETTERS = 3
# The names of the letters as a recogniser writes them when someone spells an acronym aloud.
# Several are everyday words ("see", "you", "are", "why", "tea"); they are read as letters only
# in a run that makes one of the library's acronyms.
_LETTER_NAMES = {
    "ay": "a", "eh": "a", "bee": "b", "cee": "c", "see": "c", "sea": "c", "dee": "d",
    "ee": "e", "eff": "f", "ef": "f", "gee": "g", "aitch": "h", "haitch": "h", "eye": "i",
    "jay": "j", "kay": "k", "el": "l", "ell": "l", "em": "m", "en": "n", "oh": "o", "pee": "p",
    "pea": "p", "cue": "q", "queue": "q", "are": "r", "ar": "r", "ess": "s", "es": "s",
    "tee": "t", "tea": "t", "you": "u", "vee": "v", "ex": "x", "why": "y", "wye": "y",
    "zed": "z", "zee": "z"}
# Names a recogniser writes as everyday words ("rituals mab", "neutron pinia", "crones"): the
# shortest concept-table word and the shortest medicine of the library (not an English word) they
# may be heard as, and the shortest phonetic code that may differ from the name's by one sound.
MIN_HEARD_TERM = 6
MIN_HEARD_LIBRARY_WORD = 7
MIN_HEARD_CODE_SLIP = 5
MAX_HEARD_WORDS = 4
# How alike in letters (rapidfuzz ratio, 0-100) the words heard and the name must be, and how
# much nearer than the next name.
MIN_HEARD_LETTERS = 70
MIN_HEARD_MARGIN = 5
# A recogniser writes the words it knows, so a word it wrote for a name is one it knows, and the
# name it could not write is one it does not: a common English word ("status", "person",
# "infection") is never the name heard, and a common word written alone ("prison", "stats",
# "peanuts") is the word meant. Counts are those of symspellpy's English list.
MAX_HEARD_NAME_COUNT = 1_500_000
MAX_HEARD_WORD_COUNT = 1_000_000
# A name written as several words is one the recogniser did not know as a word, so there it may
# be commoner in English ("scare roses" → sclerosis), when its code is long enough (at least
# MIN_HEARD_CODE_SLIP sounds) that chance seldom matches it.
MAX_HEARD_NAME_COUNT_IN_PIECES = 2_500_000
# Words a name is never heard across: the search's stop words (with "a" and "I", which begin the
# next phrase far more often than they end a misheard name: "injection a day late" is not
# infection), pronouns and question words, and auxiliaries ("my probiotics" is not
# macrobiotics, "is car t" not Yescarta).
_NOT_IN_A_NAME = STOP_WORDS | frozenset(
    "i me my you your he him his she her we us our them its what how when why who which do does "
    "did has have had can could should would may might must".split())
# Function words a recogniser does write inside a name: "a" between two pieces ("ritz ux a mab"),
# and "us" for a name's closing "-us" ("occur eve us" → Ocrevus), after at least one piece.
_INSIDE_A_NAME = frozenset({"a"})
_ENDING_A_NAME = frozenset({"us"})
_VOWELS = frozenset("aeiouy")
_LETTER_RUN = re.compile(r"[A-Za-z]+")
# An apostrophe and letters after a word, other than a possessive "'s": the word is the first
# half of a contraction ("doesn't", "we're"). A possessive word is a word ("Sjorgen's",
# "Reynaud's" are names misspelt like any other).
_CONTRACTION = re.compile(r"['\u2019](?!s\b)\w")
_POSSESSIVE = re.compile(r"['\u2019]s\b")
# The share of a neighbour's occurrences a word must fill beside it before a real word one slip
# away is read as it ("stem" before "cell": most; "loss" before "of": a sliver).
MIN_PAIR_SHARE = 0.1


@lru_cache(maxsize=1)
def english_counts() -> dict[str, int]:
    """symspellpy's English frequency list (82,765 words and their corpus counts), shipped
    inside that package."""
    path = resources.files("symspellpy") / "frequency_dictionary_en_82_765.txt"
    counts: dict[str, int] = {}
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            word, _, count = line.strip().partition(" ")
            if word:
                counts[word] = int(count or 0)
    return counts


@lru_cache(maxsize=1)
def english_pairs() -> frozenset[str]:
    """symspellpy's English word pairs (243,342 frequent bigrams, "first second"): words a
    recogniser wrote that are an everyday phrase ("meal plan", "because I") were heard as that
    phrase. Kept as strings: half the start-up time of a set of tuples."""
    path = resources.files("symspellpy") / "frequency_bigramdictionary_en_243_342.txt"
    return frozenset(line.rpartition(" ")[0]
                     for line in path.read_text(encoding="utf-8").splitlines())


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    return frozenset(english_counts())


@lru_cache(maxsize=1)
def medical_words() -> frozenset[str]:
    """Words of NIH consumer-health answers the English list lacks (generated from MedQuAD by
    scripts/medical_words.py): a correct medical word the library does not use is still a word,
    not a slip for the nearest library word ("nephrologist" is not "neurologist")."""
    text = (resources.files("qa") / "data" / "medical_words.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines()
                     if line.strip() and not line.startswith("#"))




@lru_cache(maxsize=1)
def country_words() -> frozenset[str]:
    """The words of the world's country names (pycountry's ISO 3166 list: names, official and
    common names), folded: people asking about treatment abroad name countries the English list
    lacks ("Costa Rica"), and a country is not a slip for an English word ("rica" is not "rich")."""
    import pycountry

    words: set[str] = set()
    for country in pycountry.countries:
        for name in (getattr(country, field, "") for field in
                     ("name", "official_name", "common_name")):
            # Typed without accents too ("Curacao", "Turkiye"); accented words are never
            # corrected anyway (only plain letters are).
            plain = unicodedata.normalize("NFKD", fold(name or "")).encode("ascii", "ignore")
            words.update(w for w in WORD.findall(plain.decode()) if _LETTERS.match(w))
    return frozenset(words)


def _looks_like_a_name(word: str) -> bool:
    """A capital inside the word ("NurOwn", "McDonald"): a product or a name, typed as such."""
    return any(ch.isupper() for ch in word[1:])


def _phrase_key(phrase: str) -> str:
    """A phrase as the sound-alike table is looked up: folded, single-spaced."""
    return " ".join(fold(phrase).split())


def _form(word: str) -> str:
    """What forms of one word share: the stem, with UK "ae"/"oe" read as US "e"."""
    return stem(word.replace("ae", "e").replace("oe", "e"))


class Speller:
    """Corrects the unknown words of a question towards the library's vocabulary (the words of
    its passages, counted when the index was built) and the concept table's terms."""

    def __init__(self, vocabulary: Mapping[str, int], terms: Iterable[str] = (),
                 known: frozenset[str] | None = None,
                 sound_alikes: Mapping[str, str] | None = None,
                 drug_names: Mapping[str, Sequence[str]] | None = None,
                 pairs: Mapping[tuple[str, str], int] | None = None,
                 spoken_names: Iterable[str] | None = None) -> None:
        """`spoken_names`: the names a speech recogniser may write as everyday words — the
        concept table's conditions, medicines and procedures, not the acronyms people spell out
        (trials, regulators); the terms when not given."""
        self._vocabulary = dict(vocabulary)
        # The words the library often writes after (and before) each word, with how often: a real
        # word typed for another ("steam cell") is seen only beside its neighbour.
        self._followers: dict[str, dict[str, int]] = {}
        self._leaders: dict[str, dict[str, int]] = {}
        for (first, second), seen in (pairs or {}).items():
            if seen >= FREQUENT_PAIR:
                self._followers.setdefault(first, {})[second] = seen
                self._leaders.setdefault(second, {})[first] = seen
        self._drugs = drug_names or {}  # shared with the index, not copied: 26,000 names
        # Real words typed for another ("stem sell", "side affects"): no dictionary sees them,
        # so the concept table lists the phrases, and only whole phrases are replaced.
        self._sound_alikes = {_phrase_key(k): v for k, v in (sound_alikes or {}).items()
                              if _phrase_key(k)}
        self._phrases = re.compile(r"(?<![\w-])(?:" + "|".join(
            r"\s+".join(map(re.escape, phrase.split()))
            for phrase in sorted(self._sound_alikes, key=len, reverse=True)) + r")(?![\w-])",
            re.IGNORECASE) if self._sound_alikes else None
        term_words: set[str] = set()
        for term in terms:
            for word in WORD.findall(fold(term)):
                if _LETTERS.match(word):
                    self._vocabulary.setdefault(word, 1)
                    term_words.add(word)
        self._candidates = [w for w in self._vocabulary if len(w) >= MIN_LENGTH - 1]
        self._english = english_counts() if known is None else {w: 1 for w in known}
        self._known = english_words() if known is None else known
        self._english_pairs = english_pairs() if known is None else frozenset()
        # A caller that names its own known words (tests) gets no medical list either.
        self._medical = medical_words() if known is None else frozenset()
        # Country names are left as typed, but are no evidence that a message is in English.
        self._countries = country_words() if known is None else frozenset()
        # By a word's length and first letter, on first need.
        self._english_candidates: dict[tuple[int, str], list[str]] = {}
        # Names that dictation hears as everyday words, by first letter, then Metaphone code.
        # They are the table's spoken names and the medicines the library names (a long library
        # word of another kind, "multicentre", is heard in everyday phrases far more often than
        # it is misheard).
        spoken = term_words if spoken_names is None else {
            word for name in spoken_names for word in WORD.findall(fold(name))
            if _LETTERS.match(word)}
        self._heard: dict[str, dict[str, list[str]]] = {}
        # Besides, the library's medical words no English list holds ("neutropenia",
        # "hemorrhage"); not its other long words (authors, "multicentre", "prescribers"), which
        # everyday phrases match by chance far more often than anyone says them.
        medicines = {w for w in self._vocabulary if w in self._drugs}
        medical = {w for w in self._vocabulary if w in self._medical}
        # Names only heard in pieces (a medical word that is no medicine or name of the table,
        # a name common in English): they must not begin with a word of the run.
        self._heard_in_pieces_only: set[str] = set()
        for name in spoken | medicines | medical:
            if len(name) >= (MIN_HEARD_TERM if name in term_words else MIN_HEARD_LIBRARY_WORD) \
                    and (name in term_words or name not in self._known):
                self._heard.setdefault(name[0], {}).setdefault(
                    jellyfish.metaphone(name), []).append(name)
                if (name not in spoken and name not in medicines) \
                        or self._english.get(name, 0) >= MAX_HEARD_NAME_COUNT:
                    self._heard_in_pieces_only.add(name)
        # The library's words by how they sound (their Metaphone code), for words spelt by ear.
        self._sounds: dict[str, list[str]] = {}
        for library_word in self._vocabulary:
            if len(library_word) > MIN_LENGTH and _LETTERS.match(library_word):
                self._sounds.setdefault(jellyfish.metaphone(library_word), []).append(
                    library_word)

    def correct(self, text: str) -> tuple[str, list[Correction]]:
        """The text with confident corrections applied, and what was corrected."""
        text, corrections = self._sound_alike_phrases(text)
        text, joined = self._joined_words(text)
        text, heard = self._heard_names(text)
        text, more = self._words(text)
        text, real = self._real_words(text)
        return text, corrections + joined + heard + more + real

    def _real_words(self, text: str) -> tuple[str, list[Correction]]:
        """An English word the library never uses, beside a library word, becomes the library
        word one slip away that the library often writes there ("steam cell" → "stem cell",
        "hair loos" → "hair loss"): swipe keyboards and autocorrect type real words, which no
        dictionary check sees."""
        if not self._followers:
            return text, []
        tokens = list(WORD.finditer(text))
        words = [fold(t.group(0)) for t in tokens]
        edits: list[tuple[int, int, str]] = []
        for i, word in enumerate(words):
            if not self._real_word_candidate(word, tokens[i].group(0)):
                continue
            before = words[i - 1] if i > 0 and _adjacent(text, tokens[i - 1], tokens[i]) else None
            after = words[i + 1] if i + 1 < len(words) \
                and _adjacent(text, tokens[i], tokens[i + 1]) else None
            meant = self._meant_beside(word, before, after)
            if meant is not None:
                edits.append((tokens[i].start(), tokens[i].end(), meant))
        return _apply(text, edits)

    def _real_word_candidate(self, word: str, typed: str) -> bool:
        return len(word) >= MIN_LENGTH and bool(_LETTERS.match(word)) \
            and word in self._known and word not in self._vocabulary \
            and word not in self._drugs and not _looks_like_a_name(typed)

    def _meant_beside(self, word: str, before: str | None, after: str | None) -> str | None:
        """The library word one slip from `word` that the library often writes after `before`
        or before `after` (in at least MIN_PAIR_SHARE of the neighbour's occurrences), when one
        is a clear favourite. `word` is never a library word, so it never stands there itself."""
        scores: dict[str, int] = {}
        for neighbour, written in ((before, self._followers), (after, self._leaders)):
            for candidate, seen in written.get(neighbour or "", {}).items():
                if seen >= MIN_PAIR_SHARE * self._vocabulary.get(neighbour or "", 0) \
                        and len(candidate) >= MIN_LENGTH - 1 and _form(candidate) != _form(word) \
                        and DamerauLevenshtein.distance(word, candidate) <= 1:
                    scores[candidate] = scores.get(candidate, 0) + seen
        favourite = _clear_favourite(scores, scores)
        return None if favourite is None else max(favourite, key=lambda w: scores[w])

    def _joined_words(self, text: str) -> tuple[str, list[Correction]]:
        """Two or three words that make one library word or medicine name when written together
        ("trans plant", "plate let", "my co phenolate"): dictation and swipe keyboards split long
        words into shorter real ones, which no word-by-word check sees."""
        return _replace_runs(text, MAX_SPELT_LETTERS, 2, lambda run, typed: self._joined(run))

    def _joined(self, run: list[str]) -> str | None:
        """The one word `run` was split from, or None. Words the library itself writes side by
        side ("clinical trials", "dimethyl fumarate") are meant as two; a split word has a piece
        the library never uses."""
        whole = "".join(run)
        if all(len(piece) == 1 for piece in run):
            # Dictated letters ("f d a"): only the library's own acronyms, never a pair of
            # everyday letters.
            return whole if whole in self._vocabulary and whole not in self._known else None
        spelt = "".join(_LETTER_NAMES.get(piece, piece if len(piece) == 1 else "?")
                        for piece in run)
        if "?" not in spelt and len(spelt) >= MIN_NAMED_LETTERS:
            # Letters spelt with their names ("em aitch are ay"), likewise.
            return spelt if spelt in self._vocabulary and spelt not in self._known else None
        if len(run) > 3 or all(p in self._vocabulary for p in run):
            return None
        if len(whole) >= MIN_JOINED and (whole in self._vocabulary or whole in self._drugs):
            return whole
        if len(whole) < MIN_JOINED_SLIP or any(len(p) < 3 or p in self._vocabulary for p in run) \
                or all(p in self._known for p in run):
            return None
        # One slip from a long library word or medicine name ("filgrass tim"): only when a piece
        # is no word at all, none is the library's and none is a one- or two-letter word, which
        # keeps everyday pairs ("daughter is", "my probiotics") and the cost away.
        fixed = self.correct_word(whole)
        return fixed if fixed is not None and len(fixed) >= MIN_JOINED_SLIP else None

    def _heard_names(self, text: str) -> tuple[str, list[Correction]]:
        """One to four everyday words that sound like one name of the field ("rituals mab" →
        rituximab, "neutron pinia" → neutropenia, "ke simple" → Kesimpta, "crones" → crohns):
        a speech recogniser with no medical vocabulary writes a name as the words it heard, all
        of them English, so no dictionary check sees them. Matched by sound (Metaphone), not by
        a list of mishearings, which fitted only the writer it was read from
        (docs/design.md)."""
        # Whether each unknown word is a typing slip, asked once per message (a word stands in
        # up to MAX_HEARD_WORDS runs); local, so concurrent questions share nothing.
        verdicts: dict[str, bool] = {}
        return _replace_runs(text, MAX_HEARD_WORDS, 1,
                             lambda run, typed: self._heard_as(run, typed, verdicts))

    def _heard_as(self, run: list[str], typed: list[str], verdicts: dict[str, bool]) -> str | None:
        """The name `run` sounds like, or None. Never when a word of the run is itself a name
        or medicine (one real name is never turned into another), is typed like one ("ran
        MIST" is a trial's name, not "randomised"), is a common function word (a name is not
        heard across "is", "for", "a" — except `_INSIDE_A_NAME` and `_ENDING_A_NAME` in their
        places), or is a typing slip (a word of four letters or more no dictionary knows: a
        recogniser writes words it knows, or a piece of a name as it sounded, "tuxy", which no
        typing correction fits and which has a vowel; "rheumatoligist says" is the typing
        speller's, "tmrw" shorthand), nor when every word of a longer run is the library's or
        two neighbours are an everyday English pair ("meal plan"); a single word must be
        uncommon and not the library's, and the name no common English word. The name must
        begin with the same letter, share its sound code (one sound may differ in a run of
        words), be alike in letters, and be clearly the nearest name; a name only heard in pieces
        must not begin with a word of the run ("inject all" is not injectable, "rheum said" not
        rheumatoid; "auto logos" is autologous)."""
        first = run[0]
        if len(first) < 2 or any(_looks_like_a_name(t) for t in typed) or any(
                (p in _NOT_IN_A_NAME and not self._inside_a_name(run, i))
                or p in self._drugs or self._typing_slip(p, len(run), verdicts)
                for i, p in enumerate(run)):
            return None
        if len(run) == 1:
            if len(first) < MIN_LENGTH + 1 or first in self._vocabulary \
                    or self._english.get(first, 0) >= MAX_HEARD_WORD_COUNT:
                return None
        elif all(p in self._vocabulary for p in run) \
                or any(f"{a} {b}" in self._english_pairs for a, b in zip(run, run[1:])):
            return None
        whole = "".join(run)
        code = jellyfish.metaphone(whole)
        if len(code) < MIN_LENGTH:
            return None
        by_code = self._heard.get(whole[0], {})
        # One sound may differ (or two swap) in a long code, never for a single word: one word
        # one sound from a name is likelier the word it is ("interfere", not interferon).
        slips = 1 if len(code) >= MIN_HEARD_CODE_SLIP and len(run) > 1 else 0
        alike: dict[str, float] = {}
        for near, _, _ in process.extract(code, by_code.keys(), scorer=DamerauLevenshtein.distance,
                                          score_cutoff=slips, limit=None):
            for name in by_code[near]:
                letters = fuzz.ratio(whole, name)
                if letters >= MIN_HEARD_LETTERS and _form(name) != _form(whole) \
                        and self._uncommon_name(name, len(near), len(run)) and not any(
                        len(p) >= MIN_LENGTH and (p in self._vocabulary and p in name or (
                            name in self._heard_in_pieces_only and name.startswith(p)))
                        for p in run):
                    alike[name] = letters
        # The name nearest in letters, when it is clearly nearer than any other name (spellings
        # of one name, "acyclovir" and "aciclovir", are told apart by their letters too).
        ranked = sorted(alike.items(), key=lambda item: (-item[1], item[0]))
        if not ranked or (len(ranked) > 1 and ranked[0][1] - ranked[1][1] < MIN_HEARD_MARGIN
                          and _form(ranked[0][0]) != _form(ranked[1][0])):
            return None
        return ranked[0][0]

    @staticmethod
    def _inside_a_name(run: list[str], i: int) -> bool:
        """Whether the function word at `run[i]` stands where a recogniser writes one in a name."""
        return (run[i] in _INSIDE_A_NAME and 0 < i < len(run) - 1) \
            or (run[i] in _ENDING_A_NAME and 0 < i == len(run) - 1)

    def _typing_slip(self, piece: str, words: int, verdicts: dict[str, bool]) -> bool:
        """Whether `piece`, in a run of `words` words, is a typing slip or shorthand rather than
        a word a recogniser wrote (see `_heard_as`); `verdicts` remembers the typing speller's."""
        if len(piece) < MIN_LENGTH or piece in self._known:
            return False
        if words == 1 or not _VOWELS & set(piece):
            return True
        if piece not in verdicts:
            verdicts[piece] = self.correct_word(piece) is not None
        return verdicts[piece]

    def _uncommon_name(self, name: str, sounds: int, words: int) -> bool:
        """Whether `name`, whose code has `sounds` sounds, is rare enough in English to be
        heard as `words` words."""
        count = self._english.get(name, 0)
        if words > 1 and sounds >= MIN_HEARD_CODE_SLIP:
            return count < MAX_HEARD_NAME_COUNT_IN_PIECES
        return count < MAX_HEARD_NAME_COUNT

    def _sound_alike_phrases(self, text: str) -> tuple[str, list[Correction]]:
        if self._phrases is None:
            return text, []
        corrections: list[Correction] = []

        def fix(match: re.Match[str]) -> str:
            meant = self._sound_alikes.get(_phrase_key(match.group(0)))
            if meant is None:  # a case variant folding reads differently: leave it as typed
                return match.group(0)
            corrections.append(Correction(match.group(0), meant))
            return meant

        return self._phrases.sub(fix, text), corrections

    def _words(self, text: str) -> tuple[str, list[Correction]]:
        edits: list[tuple[int, int, str]] = []
        for match in WORD.finditer(text):
            word = match.group(0)
            if _CONTRACTION.match(text, match.end()):
                continue  # the first half of a contraction ("doesn't"), not a word of its own
            fixed = self.correct_word(fold(word), _looks_like_a_name(word))
            if fixed is not None and fixed not in self._vocabulary \
                    and _POSSESSIVE.match(text, match.end()):
                # A possessive is often a person's or a place's name ("Raynaud's", "Baldur's
                # Gate"): it becomes a name the library uses, never a nearer English word.
                continue
            if fixed is not None:
                edits.append((match.start(), match.end(), fixed))
        return _apply(text, edits)

    def correct_word(self, word: str, name: bool = False) -> str | None:
        """A confident correction of one folded word, or None to leave it as typed. A word typed
        like a name (`name`) is left alone: "NurOwn" is a product, not "grown"."""
        if name or len(word) < MIN_LENGTH or not _LETTERS.match(word) \
                or self._never_corrected(word) or word in self._countries:
            return None
        if self._derived(word) and not self._split(word):
            # A prefix before a library word ("bispecific") is a word; one that splits into two
            # library words ("pretransplant") is still split, so the search finds "transplant".
            return None
        fixed = self._nearest_reading(word)
        if fixed is None or (word in self._drugs and not self._same_medicine(word, fixed)):
            return None
        if word in self._medical and DamerauLevenshtein.distance(word, fixed) > 1:
            # A real medical word the library does not use: one slip from a library word is
            # likelier a typo of it than that rare word; further away, it was meant.
            return None
        return fixed

    def _same_medicine(self, typed: str, fixed: str) -> bool:
        """Whether `fixed` names the medicine `typed` names: a spelling of it with a generic name
        in common, or a form of the same word ("insulins", "insulin")."""
        return not set(self._drugs[typed]).isdisjoint(self._drugs.get(fixed, ())) or \
            _form(typed) == _form(fixed)

    def _nearest_reading(self, word: str) -> str | None:
        """The word (or two words) an unknown word most likely meant, or None when unclear."""
        split = self._split(word)
        if split:
            return split
        limit = 1 if len(word) <= 5 else 2
        found = self._nearest(word, self._candidates, self._vocabulary, limit)
        if len(word) > 5 and (found is None or found[1] > 1):
            # A library word two edits away loses to an English word one edit away ("biotine"
            # is "biotin", not the library's "nicotine"): the nearer reading is the likelier.
            # Restricted transpositions (OSA) are enough for typing slips and several times
            # faster than full Damerau-Levenshtein over the English list's 80k words.
            # Two edits from an everyday word is too far for a short word: a word of the field
            # the lists lack is likelier than a slip ("oximeter" is not "odometer", "subcut"
            # not "submit"); long words typed with two slips still find theirs.
            english_limit = limit if found is None else found[1] - 1
            if len(word) < MIN_TWO_EDIT_ENGLISH:
                english_limit = min(english_limit, 1)
            english = self._nearest(word, self._english_words(len(word), word[0]),
                                    self._english, english_limit, OSA.distance)
            if english is not None:
                found = english
        # Spelt by ear: a library word that sounds the same wins over one nearer in letters
        # ("loopus" is lupus, not loops); with a nearer word at hand, only a word that sounds
        # the same to both codes does ("shoud" stays should, not short), and not when the
        # nearer word is a library word with the same Metaphone code: then sound cannot
        # choose, and the nearer reading is the likelier ("faild" is failed, not field).
        heard = self._by_sound(word, strict=found is not None)
        if heard is not None and not (found is not None and found[0] in self._vocabulary
                                      and jellyfish.metaphone(found[0])
                                      == jellyfish.metaphone(word)):
            return heard
        return None if found is None else found[0]

    def _nearest(self, word: str, candidates: list[str], counts: Mapping[str, int],
                 limit: int, scorer: Callable[..., Any] = DamerauLevenshtein.distance
                 ) -> tuple[str, int] | None:
        """The one nearest candidate within `limit` edits and its distance, or None when it is
        not clear."""
        found = process.extract(word, candidates, scorer=scorer, score_cutoff=limit, limit=5)
        if not found:
            return None
        best = min(distance for _, distance, _ in found)
        favourite = _clear_favourite((str(c) for c, d, _ in found if d == best), counts)
        if favourite is None:
            return None
        return max(favourite, key=lambda w: counts.get(w, 0)), int(best)

    def _by_sound(self, word: str, strict: bool = False) -> str | None:
        """The library word that sounds like `word` ("loopus": lupus, "nefritis": nephritis,
        "cyclofosfamide": cyclophosphamide), when one is a clear favourite: spelling by ear
        changes letters an edit distance counts as many, and an edit nearer in letters ("loops",
        "neuritis") is then the wrong word. Candidates share the word's Metaphone code, its first
        letter and at least two thirds of its letters; those that NYSIIS hears the same way too
        come first, and only they may overrule a word nearer in letters (`strict`)."""
        if len(word) <= MIN_LENGTH:
            return None
        metaphone, nysiis = _sound_codes(word)
        limit = max(2, len(word) // 3)
        near = {w for w in self._sounds.get(metaphone, ())
                if w[0] == word[0] and DamerauLevenshtein.distance(word, w) <= limit}
        both = {w for w in near if _sound_codes(w) == (metaphone, nysiis)}
        favourite = _clear_favourite(both if strict else both or near, self._vocabulary)
        if favourite is None:
            return None
        # Of one word's forms, the one nearest to what was typed ("hematopoetic" is the US
        # "hematopoietic", however much commoner the library's UK form).
        return min(favourite, key=lambda w: (DamerauLevenshtein.distance(word, w),
                                             -self._vocabulary.get(w, 0), w))

    def _english_words(self, length: int, first: str) -> list[str]:
        """English words within two letters of `length` (no nearer one can be two edits away)
        that begin with `first` (or a silent letter before it), gathered once per length and
        letter. People rarely mistype a word's first letter, and the English list lacks many
        words of this field ("probiotics" is not in it): without this, such a word could become
        an everyday word two edits away with another beginning ("robotics")."""
        key = (length, first)
        if key not in self._english_candidates:
            starts = (first, *_SILENT_STARTS.get(first, ()))
            self._english_candidates[key] = [
                w for w in self._english
                if w.startswith(starts) and abs(len(w) - length) <= 2 and len(w) >= MIN_LENGTH
                and _LETTERS.match(w)]
        return self._english_candidates[key]

    def is_known(self, word: str) -> bool:
        """A word of the library, English or medicine, or one of them behind a prefix (the
        language guess reads a message full of them as English). Country names are not: they
        say nothing about a message's language."""
        return self._never_corrected(word) or word in self._medical or self._derived(word)

    def _never_corrected(self, word: str) -> bool:
        """A word of the library, of English, or a contraction typed without its apostrophe."""
        return word in self._vocabulary or word in self._known or word in INFORMAL

    def _listed(self, word: str) -> bool:
        """A word of the library or of the medical list, or a long English word: a prefix before
        a short everyday word is as often a slip ("referal" is not re + feral, "resluts" not re
        + sluts), before a long one it makes a word ("premedication")."""
        return word in self._vocabulary or word in self._medical \
            or (len(word) >= MIN_ENGLISH_BASE and word in self._known)

    def _derived(self, word: str) -> bool:
        """A prefix before a known word ("premedication", "bispecific", "avascular")."""
        if word.startswith("a") and len(word) - 1 >= MIN_A_BASE and self._listed(word[1:]):
            return True
        return any(word.startswith(prefix) and len(word) - len(prefix) >= MIN_DERIVED_BASE
                   and self._listed(word[len(prefix):]) for prefix in _PREFIXES)

    def _split(self, word: str) -> str | None:
        """`stemcell` → `stem cell`: both halves library words (at least three letters each)."""
        for cut in range(3, len(word) - 2):
            left, right = word[:cut], word[cut:]
            if left in self._vocabulary and right in self._vocabulary:
                return f"{left} {right}"
        return None


def _replace_runs(text: str, longest: int, shortest: int,
                  read: Callable[[list[str], list[str]], str | None]
                  ) -> tuple[str, list[Correction]]:
    """Each run of `shortest` to `longest` space-separated letter words that `read` turns into
    one word (given the run folded and as typed), longest runs first, left to right, a word in
    at most one run: how split and misheard words are joined."""
    tokens = list(_LETTER_RUN.finditer(text))
    parts = [t.group(0).lower() for t in tokens]  # plain ASCII letters: lower is the fold
    spaced = [text[a.end():b.start()] == " " for a, b in zip(tokens, tokens[1:])]
    edits: list[tuple[int, int, str]] = []
    i = 0
    while i < len(tokens):
        for size in range(longest, shortest - 1, -1):
            if i + size > len(tokens) or not all(spaced[i:i + size - 1]):
                continue
            meant = read(parts[i:i + size], [t.group(0) for t in tokens[i:i + size]])
            if meant is not None:
                edits.append((tokens[i].start(), tokens[i + size - 1].end(), meant))
                i += size
                break
        else:
            i += 1
    return _apply(text, edits)


def _apply(text: str, edits: Sequence[tuple[int, int, str]]) -> tuple[str, list[Correction]]:
    """The text with each span (start, end, in order, not overlapping) replaced, and the
    corrections that says."""
    if not edits:
        return text, []
    pieces: list[str] = []
    cursor = 0
    for start, end, meant in edits:
        pieces += [text[cursor:start], meant]
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces), [Correction(text[start:end], meant) for start, end, meant in edits]


def _adjacent(text: str, left: re.Match[str], right: re.Match[str]) -> bool:
    """Whether two words stand side by side (a space or a hyphen between them, no punctuation)."""
    return text[left.end():right.start()] in (" ", "-")


def _sound_codes(word: str) -> tuple[str, str]:
    """Two phonetic keys of a word (jellyfish's Metaphone and NYSIIS): two different readings
    agreeing is what lets a sound beat a nearer spelling ("shoud" and "short" agree in NYSIIS
    only, so "should" stays)."""
    return jellyfish.metaphone(word), jellyfish.nysiis(word)


def _clear_favourite(candidates: Iterable[str], counts: Mapping[str, int]) -> list[str] | None:
    """Candidates grouped as forms of one word ("relapse", "relapses" count as one): the group
    of a clear favourite — ten times as common in `counts` as the next — or None for a tie."""
    groups: dict[str, list[str]] = {}
    for candidate in candidates:
        groups.setdefault(_form(candidate), []).append(candidate)
    if not groups:
        return None
    ranked = sorted(groups.values(), key=lambda g: -sum(counts.get(w, 0) for w in g))
    if len(ranked) > 1 and sum(counts.get(w, 0) for w in ranked[0]) \
            < 10 * sum(counts.get(w, 0) for w in ranked[1]):
        return None
    return ranked[0]
