"""The trained triage model: it loads fast from its file, a damaged file is one clear line, and
`qa triage train` rebuilds exactly the shipped weights."""

import numpy as np
import pytest

from qa.errors import ConfigError
from qa.safety.classifier import CATEGORIES, TriageClassifier
from qa.settings import PACKAGE_DATA, Settings
from tests.fakes import damaged_file

MODEL = PACKAGE_DATA / "triage_model.npz"


def test_the_shipped_model_loads_with_its_thresholds():
    model = TriageClassifier.load(MODEL)
    assert set(model.classes) == set(CATEGORIES)
    assert model.meta["examples"] >= 4000
    thresholds = model.meta["thresholds"]
    assert 0 < thresholds["emergency_flag"] <= thresholds["emergency"] < 1


@pytest.mark.parametrize("damage", ["missing", "garbage", "wrong_shape"])
def test_a_bad_model_file_is_one_clear_line(tmp_path, damage):
    def wrong_shape(path):
        model = TriageClassifier.load(MODEL)
        model.coef = model.coef[:, :10]
        model.save(path)

    path = damaged_file(tmp_path / "model.npz", damage, wrong_shape)
    with pytest.raises(ConfigError, match="qa triage train"):
        TriageClassifier.load(path)


def test_a_bad_model_file_stops_start_up_with_one_line(tmp_path, fake_engine, fake_embedder):
    from qa.engine import QAEngine

    broken = tmp_path / "model.npz"
    broken.write_bytes(b"\x00broken")
    settings = fake_engine.settings.model_copy(update={"triage_model_file": broken})
    with pytest.raises(ConfigError) as error:
        QAEngine.from_settings(settings, embedder=fake_embedder)
    assert "\n" not in str(error.value) and "qa triage train" in str(error.value)


@pytest.mark.model
def test_training_rebuilds_the_shipped_weights(tmp_path, real_embedder):
    from qa.safety.red_flags import RedFlags
    from qa.safety.training import train

    settings = Settings()
    rebuilt = tmp_path / "model.npz"
    train(settings.triage_training_data, real_embedder, rebuilt,
          RedFlags.from_files(settings.red_flags_file, settings.crisis_lexicon_file))
    shipped, again = TriageClassifier.load(MODEL), TriageClassifier.load(rebuilt)
    assert again.meta["data_sha256"] == shipped.meta["data_sha256"]
    assert again.meta["thresholds"] == shipped.meta["thresholds"]
    assert np.allclose(again.coef, shipped.coef, atol=1e-4)
    assert np.allclose(again.intercept, shipped.intercept, atol=1e-4)


def test_scores_match_sklearns_own_tf_idf_features():
    """Serving scores a message without scikit-learn (qa.safety.ngrams); the scores must be the
    ones sklearn's vectorisers, rebuilt from the stored vocabularies, give."""
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer

    from qa.safety.classifier import CHAR_PARAMS, WORD_PARAMS

    model = TriageClassifier.load(MODEL)

    def vectorizer(params, vocabulary, idf):
        made = TfidfVectorizer(**params, vocabulary={t: i for i, t in enumerate(vocabulary)})
        made.idf_ = np.asarray(idf, dtype=np.float64)
        return made

    words = vectorizer(WORD_PARAMS, model.word_vocabulary, model.word_idf)
    chars = vectorizer(CHAR_PARAMS, model.char_vocabulary, model.char_idf)
    rng = np.random.default_rng(3)
    texts = ["my husband has a fever after his transplant", "what is aHSCT?", "zzz", "",
             "¿Cuánto cuesta el trasplante en México?", "Lemtrada vs HSCT, which is better for me",
             "fièvre  39°C   après la greffe", "I I I took took 30 pills pills", "a b c d"]
    vectors = rng.normal(size=(len(texts), model.meta["dimension"])).astype(np.float32)
    features = sparse.hstack([words.transform(texts), chars.transform(texts),
                              sparse.csr_matrix(vectors * model.embedding_weight)], format="csr")
    logits = np.asarray(features @ model.coef.T.astype(np.float64)) + model.intercept
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    for text, vector, row in zip(texts, vectors, expected):
        single = model.scores(text, vector)
        for category, probability in zip(model.classes, row):
            assert single[category] == pytest.approx(probability, abs=1e-5)


def test_cross_validation_does_not_depend_on_the_order_of_the_files():
    """Thresholds come from cross-validated scores; reading the same messages in another order
    (a file renamed or moved) must give each message the same score."""
    from qa.safety.training import cross_validated_scores

    topics = {"fever after my transplant": "emergency", "should i stop my tablets": "personal_advice",
              "which clinic in mexico": "unproven_clinic", "tomato seedlings": "out_of_scope",
              "what is aHSCT": "general"}
    texts = [f"{topic} {word} {n}" for topic in topics for n in range(6)
             for word in ("today", "please")]
    labels = [topics[" ".join(t.split()[:-2])] for t in texts]
    rng = np.random.default_rng(7)
    vectors = {t: rng.normal(size=8).astype(np.float32) for t in texts}
    order = rng.permutation(len(texts))
    first = cross_validated_scores(texts, np.stack([vectors[t] for t in texts]), labels)
    moved_texts = [texts[i] for i in order]
    moved = cross_validated_scores(moved_texts, np.stack([vectors[t] for t in moved_texts]),
                                   [labels[i] for i in order])
    again = dict(zip(moved_texts, moved))
    for text, scores in zip(texts, first):
        for category, value in scores.items():
            assert again[text][category] == pytest.approx(value, abs=1e-6)


def test_thresholds_are_chosen_per_language_and_doubt_spares_real_emergencies():
    from qa.safety.training import NEVER, choose_thresholds

    def scores(emergency: float, general: float) -> dict[str, float]:
        return {"emergency": emergency, "general": general, "out_of_scope": 0.0}

    labels = ["emergency"] * 100 + ["general"] * 100 + ["emergency"] * 100
    languages = ["en"] * 200 + ["es"] * 100
    english_emergencies = [scores(0.9, 0.1)] * 100
    ordinary = [scores(0.05, 0.95)] * 100
    foreign_emergencies = [scores(0.2, 0.8)] * 100  # the classifier is less sure outside English
    chosen = choose_thresholds(labels, english_emergencies + ordinary + foreign_emergencies,
                               languages)
    assert chosen["emergency_flag_other_language"] <= 0.2 < chosen["emergency_flag"]
    assert chosen["red_flag_doubt"] == NEVER  # no red-flag readings: red flags are never doubted

    # Red-flag statements: ten real emergencies the classifier calls ordinary up to 0.6, so a
    # doubt threshold at or below 0.6 would take the card-alone reply from them.
    flagged = [scores(0.3, 0.6)] * 10 + [scores(0.9, 0.1)] * 90
    hard = [True] * 100 + [False] * 200
    doubt = choose_thresholds(labels, flagged + ordinary + foreign_emergencies, languages,
                              hard)["red_flag_doubt"]
    assert 0.6 < doubt < NEVER


def test_the_red_flag_veto_stays_well_under_the_least_sure_caught_emergency():
    from qa.safety.training import VETO_MARGIN, choose_thresholds

    def scores(emergency: float) -> dict[str, float]:
        return {"emergency": emergency, "general": 1 - emergency, "out_of_scope": 0.0}

    labels = ["emergency"] * 50 + ["general"] * 50
    plain = choose_thresholds(labels, [scores(0.9)] * 50 + [scores(0.01)] * 50)
    assert plain["red_flag_veto"] == 0.0  # no red-flag readings: nothing is ever set aside
    caught = [scores(0.03)] + [scores(0.9)] * 49  # one caught emergency the classifier doubts
    flagged = [True] * 50 + [True] * 10 + [False] * 40
    veto = choose_thresholds(labels, caught + [scores(0.001)] * 50, None, None, None,
                             flagged)["red_flag_veto"]
    assert 0 < veto and veto * VETO_MARGIN <= 0.03


def test_other_language_flag_threshold_counts_what_the_crisis_lexicon_already_catches():
    from qa.safety.training import choose_thresholds

    def scores(emergency: float) -> dict[str, float]:
        return {"emergency": emergency, "general": 1 - emergency, "out_of_scope": 0.0}

    # 100 foreign emergencies: 90 the classifier scores 0.6, 10 it scores only 0.1.
    labels = ["emergency"] * 100 + ["general"] * 100 + ["emergency"] * 100
    languages = ["en"] * 200 + ["es"] * 100
    all_scores = ([scores(0.9)] * 100 + [scores(0.05)] * 100
                  + [scores(0.6)] * 90 + [scores(0.1)] * 10)
    alone = choose_thresholds(labels, all_scores, languages)
    # The lexicon catches the ten the classifier is unsure of: the classifier's threshold may
    # rise to what catches the rest, sparing ordinary messages scored in between.
    caught = [False] * 290 + [True] * 10
    with_lexicon = choose_thresholds(labels, all_scores, languages, None, caught)
    assert alone["emergency_flag_other_language"] <= 0.1
    assert 0.5 <= with_lexicon["emergency_flag_other_language"] <= 0.6


def test_every_english_only_notice_names_both_numbers():
    from qa.answering.disclaimers import other_language_replies

    replies = other_language_replies()
    assert {"es", "fr", "pt", "zh", "vi", "tl", "ar", "ko", "ru", "pl"} <= set(replies)
    for language, text in replies.items():
        assert "{emergency}" in text and "{crisis}" in text, language
