"""The triage classifier's word and character n-grams for one message, made exactly as
scikit-learn's TfidfVectorizer made them when the weights were trained (classifier.WORD_PARAMS
and CHAR_PARAMS: lower-cased, accents stripped, words of `\\w+`, word 1-2-grams, and 2-5
character grams inside each space-padded word).

Why not sklearn's own analyzer at serving time: importing scikit-learn imports SciPy's statistics
package, which cost most of a second of every start-up (docs/benchmarks.md) for a few lines of
string slicing. Training and evaluation still use sklearn; a test replays sklearn's analyzers on
every training message and requires the same n-grams, so a change in either side fails it.
"""

from __future__ import annotations

import re
import unicodedata

_TOKEN = re.compile(r"(?u)\b\w+\b")  # WORD_PARAMS["token_pattern"]
_WHITE_SPACES = re.compile(r"\s\s+")
WORD_RANGE = (1, 2)
CHAR_RANGE = (2, 5)


def _preprocess(text: str) -> str:
    """Lower case, then accents stripped (sklearn's `strip_accents_unicode`, in its order)."""
    text = text.lower()
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def word_ngrams(text: str) -> list[str]:
    """The words, then each pair of neighbouring words joined by a space."""
    tokens = _TOKEN.findall(_preprocess(text))
    low, high = WORD_RANGE
    grams = list(tokens) if low == 1 else []
    for n in range(max(low, 2), min(high + 1, len(tokens) + 1)):
        grams.extend(" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
    return grams


def char_ngrams(text: str) -> list[str]:
    """Character grams of each word padded with a space on both sides; a word shorter than a
    gram length gives itself once, padded, and no longer grams."""
    grams: list[str] = []
    low, high = CHAR_RANGE
    for word in _WHITE_SPACES.sub(" ", _preprocess(text)).split():
        padded = f" {word} "
        for n in range(low, high + 1):
            if len(padded) <= n:
                grams.append(padded)
                break
            grams.extend(padded[i:i + n] for i in range(len(padded) - n + 1))
    return grams
