"""Which language a message is written in: English (the library's language) or another.

py3langid identifies the language, restricted to the languages this service expects; two guards
keep it from misfiring on English questions full of drug names and Latin terms ("alemtuzumab vs
ocrelizumab", "sclerosis multiplex"): a message whose words are mostly English or the library's
own vocabulary is English unless the identifier is sure of another language (English word lists
hold many short Spanish and Tagalog words, so the share must be high), and a message in a
non-Latin script is named by its script.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from functools import lru_cache

from qa.text import WORD, fold

# Languages with a reply of their own (qa/data/unsupported_language.yaml) plus a few that are
# common in the countries the widget serves; anything else is reported as "other".
LANGUAGES = ("en", "es", "fr", "pt", "vi", "tl", "pl", "de", "it", "nl", "ro", "ht", "so", "sw",
             "id", "tr", "zh", "ko", "ar", "ru", "uk", "ja", "hi", "fa")
SCRIPTS = {"CJK": "zh", "HANGUL": "ko", "ARABIC": "ar", "CYRILLIC": "ru", "HIRAGANA": "ja",
           "KATAKANA": "ja", "DEVANAGARI": "hi"}
ENGLISH_SHARE = 0.8  # a message this much made of English or library words is English
# ...unless the identifier is at least this sure of another language: short Spanish and Tagalog
# questions are mostly words an English list also holds ("para", "ang", "rate") but the
# identifier reads them from the words between (docs/safety.md, language guess).
SURE_OTHER_LANGUAGE = 0.85
UNSURE = 0.4  # below this confidence, a plain-ASCII message is taken as English


@lru_cache(maxsize=1)
def _identifier() -> Callable[[str], tuple[str, float]]:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages([code for code in LANGUAGES if code != "ja"] + ["ja"])
    classify: Callable[[str], tuple[str, float]] = identifier.classify
    return classify


def _script(text: str) -> str | None:
    """The language of the dominant non-Latin script, if most letters are in one."""
    counts: dict[str, int] = {}
    letters = 0
    for char in text:
        if not char.isalpha():
            continue
        letters += 1
        name = unicodedata.name(char, "")
        for script, language in SCRIPTS.items():
            if name.startswith(script) or f" {script} " in f" {name} ":
                counts[language] = counts.get(language, 0) + 1
                break
    if not letters or not counts:
        return None
    # Japanese writes most content words in the Chinese characters and the grammar in kana,
    # which Chinese never uses: any kana among CJK text makes it Japanese.
    if "ja" in counts and "zh" in counts:
        counts["ja"] += counts.pop("zh")
    language, count = max(counts.items(), key=lambda item: item[1])
    return language if count * 2 >= letters else None


class LanguageGuess:
    """Identifies a message's language; `known` says whether a word is English or the
    library's (so English questions full of technical words stay English)."""

    def __init__(self, known: Callable[[str], bool]) -> None:
        self.known = known

    def identify(self, text: str) -> str:
        script = None if text.isascii() else _script(text)
        if script == "ru":
            # Cyrillic is Russian or Ukrainian for the people this service expects; answering a
            # Ukrainian speaker in Russian would be worse than in English.
            return "uk" if _identifier()(text)[0] == "uk" else "ru"
        if script:
            return script
        words = [w for w in WORD.findall(fold(text)) if w.isalpha()]
        if not words:
            return "en"
        if all(map(self.known, words)):
            # Nothing for the identifier to weigh, and most questions end here: it takes about a
            # second to load, which a one-shot `qa ask` or a server's first question would pay.
            return "en"
        language, confidence = _identifier()(text)
        if language == "en":
            return "en"
        # Short words ("vs", "pls", "de", "la") say little about the language: count the rest.
        telling = [w for w in words if len(w) > 3] or words
        if sum(map(self.known, telling)) >= ENGLISH_SHARE * len(telling) \
                and confidence < SURE_OTHER_LANGUAGE:
            return "en"
        if confidence < UNSURE and text.isascii():
            return "en"  # "in vitro fertilisation": a guess, and no accent to back it
        return language
