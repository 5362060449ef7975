"""The speller's medical word list is what scripts/medical_words.py makes from MedQuAD: a
committed artifact that can be regenerated, not a hand-edited list."""

import importlib.util
import json

import pytest

from qa.retrieval.spelling import english_words, medical_words
from tests.conftest import ROOT, SHARED

MEDQUAD = SHARED / "data" / "medquad" / "medquad.jsonl"


def _generator():
    spec = importlib.util.spec_from_file_location("medical_words_script",
                                                  ROOT / "scripts" / "medical_words.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not MEDQUAD.is_file(), reason="needs ../shared/data/medquad")
def test_the_committed_list_is_what_the_script_makes_from_medquad():
    records = [json.loads(line) for line in MEDQUAD.read_text(encoding="utf-8").splitlines()
               if line.strip()]
    assert frozenset(_generator().medical_words(records, english_words())) == medical_words()


def test_a_word_in_one_or_two_answers_is_not_taken_for_a_word():
    records = [{"text": "nephrologist areata"}, {"text": "nephrologist"},
               {"text": "nephrologist areata husband"}]
    assert _generator().medical_words(records, frozenset({"husband"})) == ["nephrologist"]
