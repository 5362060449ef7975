"""The one place text is normalised, split into words and stemmed.

`normalise_question` cleans what a person typed (once, at the engine's door). `fold` is the form
every matcher reads — BM25, synonyms, highlighting and the safety rules: lower case, straight
apostrophes, single spaces. Words are runs of two or more word characters (bm25s's splitter, which
the BM25 index is built with), stemmed by one English Snowball stemmer per thread: PyStemmer's
stemmer keeps internal state and must not be called concurrently, and the server answers on a
thread pool.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable

import Stemmer
from bm25s.stopwords import STOPWORDS_EN

from qa.errors import InvalidQuestion

WORD = re.compile(r"(?u)\b\w\w+\b")
STOP_WORDS = frozenset(STOPWORDS_EN)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_local = threading.local()


def normalise_question(question: object, max_chars: int) -> str:
    """Control characters removed, whitespace collapsed, NFKC; empty, wordless or too long is
    refused. Length is checked before NFKC, which can expand one character into many."""
    if not isinstance(question, str):
        raise InvalidQuestion("the question must be a string")
    text = " ".join(_CONTROL.sub(" ", question).split())
    if not text:
        raise InvalidQuestion("the question is empty")
    if len(text) > max_chars:
        raise InvalidQuestion(f"the question is longer than {max_chars} characters")
    if not any(ch.isalnum() for ch in text):
        raise InvalidQuestion("the question has no words")
    return " ".join(_CONTROL.sub(" ", unicodedata.normalize("NFKC", text)).split())


def fold(text: str) -> str:
    """Lower case, straight apostrophes, single spaces: the form every matcher reads."""
    return " ".join(text.translate(_APOSTROPHES).lower().split())


def words(text: str) -> list[str]:
    """The words of a text, folded, in order."""
    return WORD.findall(fold(text))


def word_counts(texts: Iterable[str]) -> dict[str, int]:
    """How often each alphabetic word occurs in the texts (folded): a library's vocabulary."""
    counts: dict[str, int] = {}
    for text in texts:
        for word in WORD.findall(fold(text)):
            if word.isalpha():
                counts[word] = counts.get(word, 0) + 1
    return counts


# How often the library must write two words side by side before the speller leans on the pair
# ("stem cell"); the index stores only such pairs, so start-up reads them rather than the passages.
FREQUENT_PAIR = 3


def word_pair_counts(texts: Iterable[str], min_count: int = 1) -> dict[tuple[str, str], int]:
    """How often each two alphabetic words follow each other in the texts (folded), for pairs
    seen at least `min_count` times: which word the library writes before or after another
    ("stem cell", "hair loss")."""
    counts: dict[tuple[str, str], int] = {}
    for text in texts:
        words = [w for w in WORD.findall(fold(text)) if w.isalpha()]
        for pair in zip(words, words[1:]):
            counts[pair] = counts.get(pair, 0) + 1
    return {pair: n for pair, n in counts.items() if n >= min_count}


def _stemmer() -> Stemmer.Stemmer:
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = Stemmer.Stemmer("english")
    return stemmer


def stem(word: str) -> str:
    """The English Snowball stem of one word (this thread's own stemmer)."""
    return str(_stemmer().stemWord(word))


def stem_all(words_: Iterable[str]) -> list[str]:
    return list(_stemmer().stemWords(list(words_)))
