"""The n-grams serving makes without scikit-learn are exactly the ones sklearn's analyzers made
in training, on every training message and on text that exercises the edge cases."""

import json

import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from qa.safety.classifier import CHAR_PARAMS, WORD_PARAMS
from qa.safety.ngrams import char_ngrams, word_ngrams
from qa.settings import Settings

EDGE_CASES = ["", " ", "a", "ab", "abc", "abcd", "I", "x y", "  two   spaces\tand\ttabs\n",
              "Ça coûte combien, la greffe à São Paulo?", "ÉCOLE naïve Ōsaka", "ﬁnal ligature",
              "don't can't it's", "HSCT/aHSCT-CAR-T", "39°C 1,000 mg 2.5", "¿Qué? ¡Sí!",
              "骨髓移植 费用", "Trần Văn Nam", "قلبي يؤلمني", "ÀÁÂÃÄÅ", "ǅ Ǆ ǆ", "İstanbul",
              "ß straße", "emoji 😀 here", "under_score words_2"]


def training_texts() -> list[str]:
    texts: list[str] = []
    for root in Settings().triage_training_data:
        for path in sorted(root.rglob("*.jsonl")) if root.is_dir() else [root]:
            if path.suffix == ".jsonl":
                texts += [json.loads(line)["text"] for line in
                          path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return texts


@pytest.mark.parametrize("ours, params", [(word_ngrams, WORD_PARAMS), (char_ngrams, CHAR_PARAMS)])
def test_ngrams_are_sklearns(ours, params):
    analyze = TfidfVectorizer(**params).build_analyzer()
    texts = training_texts()
    assert len(texts) > 4000
    for text in EDGE_CASES + texts:
        assert ours(text) == analyze(text), text
