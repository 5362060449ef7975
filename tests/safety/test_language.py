"""Language identification never turns an English question full of drug names into another
language, and names other languages and scripts."""

import pytest

from qa.retrieval.spelling import english_words
from qa.safety.language import LanguageGuess

ENGLISH = english_words()
LIBRARY = {"alemtuzumab", "ocrelizumab", "ahsct", "hsct", "sclerosis", "kesimpta", "ocrevus"}
GUESS = LanguageGuess(lambda word: word in ENGLISH or word in LIBRARY)


@pytest.mark.parametrize("message", [
    "alemtuzumab vs ocrelizumab", "ocrevus vs kesimpta?", "sclerosis multiplex",
    "in vitro fertilisation", "is rituximab safe after aHSCT?", "ms", "ok thanks",
    "CAR-T cell therapy", "hsct",
])
def test_english_with_drug_names_and_latin_stays_english(message):
    assert GUESS.identify(message) == "en"


@pytest.mark.parametrize("message, language", [
    ("quiero morir", "es"),
    ("mi esposo tiene fiebre después del trasplante", "es"),
    ("je veux mourir, je n'en peux plus", "fr"),
    ("meu marido está com febre depois do transplante", "pt"),
    ("干细胞移植后发烧怎么办", "zh"),
    ("줄기세포 이식 후에 열이 나요", "ko"),
    ("بعد زراعة الخلايا الجذعية عندي حمى", "ar"),
    ("у мужа температура после трансплантации", "ru"),
    ("幹細胞移植は多発性硬化症に効きますか", "ja"),  # mostly kanji, but kana: Japanese
    ("मुझे अब जीना नहीं है", "hi"),
    ("у мого чоловіка температура після трансплантації, що робити?", "uk"),
    ("hoe lang duurt het herstel na een stamceltransplantatie?", "nl"),
    # Mostly words an English list also holds ("para", "risk", "side"), but the identifier is
    # sure: the words between decide.
    ("ano ang side effects ng hsct para sa lupus?", "tl"),
    ("ano po ang risk ng transplant para sa MS", "tl"),
    ("que es el hsct?", "es"),
])
def test_other_languages_and_scripts_are_named(message, language):
    assert GUESS.identify(message) == language


def test_a_message_of_known_words_is_english_without_the_identifier(monkeypatch):
    """py3langid takes about a second to load: a question made only of English or library words
    must not load it (a one-shot `qa ask` would pay that second)."""
    import qa.safety.language as language

    def refuse() -> None:
        raise AssertionError("the identifier was asked")

    monkeypatch.setattr(language, "_identifier", refuse)
    assert GUESS.identify("is hsct safe after ocrevus?") == "en"
    with pytest.raises(AssertionError):
        GUESS.identify("ano ang side effects ng hsct para sa lupus?")
