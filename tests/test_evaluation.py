"""Retrieval quality on the gold set, with the real model and the real corpus (every run)."""

import math

import pytest

from qa.evaluation import evaluate_gold, read_gold
from tests.conftest import ROOT

GOLD = ROOT / "eval" / "gold"


@pytest.fixture(scope="module")
def report(real_engine):
    return evaluate_gold(real_engine, read_gold(GOLD))


def test_gold_set_is_big_enough():
    gold = read_gold(GOLD)
    assert sum(not g.off_topic for g in gold) >= 100
    assert sum(g.off_topic for g in gold) >= 25


def test_gold_expected_documents_exist():
    ids = {p.stem for p in (ROOT / "corpus").glob("*.md")}
    for item in read_gold(GOLD):
        assert set(item.expected) <= ids, item


def test_hit_at_3_holds_its_measured_level(report):
    # Measured 0.961 with the document classifier beside the reranker (0.948 before it).
    assert report.hit_at_3 >= 0.95, report.misses


def test_first_answers_hold_their_measured_level(report):
    # Measured 0.795 / 0.877 with the document reranker and its classifier, neither of which
    # ever trained on the gold set (docs/design.md, seventh session of 2026-12-02: the
    # classifier traded three first places for six more top-three ones; MRR held); a step
    # backwards in ranking fails here before it reaches a blind batch.
    assert report.hit_at_1 >= 0.79 and report.mrr_at_10 >= 0.87, report.misses


def test_at_most_5_percent_of_in_scope_questions_abstained(report):
    assert report.in_scope_abstained <= 0.05, report.wrongly_abstained


def test_off_topic_questions_never_get_an_answer(report):
    assert report.off_topic >= 25
    assert report.off_topic_abstained == 1.0, report.off_topic_answered


def test_ranking_metrics_on_known_rankings():
    from qa.evaluation import hit_at, ndcg_at, reciprocal_rank

    ranking = ["a", "b", "c", "d"]
    assert hit_at(ranking, ["c"], 3) == 1.0 and hit_at(ranking, ["d"], 3) == 0.0
    assert reciprocal_rank(ranking, ["c", "d"]) == pytest.approx(1 / 3)
    assert reciprocal_rank(ranking, ["z"]) == 0.0
    assert ndcg_at(ranking, ["a"], 10) == pytest.approx(1.0)
    assert ndcg_at(ranking, ["b"], 10) == pytest.approx(1 / math.log2(3))
    assert ndcg_at(ranking, [], 10) == 0.0


def test_wilson_interval_is_honest_at_the_edges():
    from qa.evaluation import wilson_interval

    low, high = wilson_interval(10, 10)
    assert high == 1.0 and 0.69 < low < 0.73  # 10/10 is not certainty
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and 0.27 < high < 0.31
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(50, 100)
    assert low == pytest.approx(0.404, abs=0.001) and high == pytest.approx(0.596, abs=0.001)


def test_http_end_to_end_with_the_real_model(real_engine):
    from fastapi.testclient import TestClient

    from qa.server.app import create_app

    client = TestClient(create_app(real_engine.settings, real_engine))
    data = client.post("/api/ask", json={"question": "What is apheresis?"}).json()
    assert data["kind"] == "answer"
    documents = [q["source"]["document_id"] for q in data["quotes"]]
    assert {"ahsct-mobilisation-apheresis", "glossary"} & set(documents)
    assert data["disclaimers"][0]["code"] == "general"
    quote = data["quotes"][0]
    assert quote["source"]["url"].startswith("https://") and quote["source"]["reviewed"]


def test_gold_files_may_hold_conversation_cases(tmp_path):
    from qa.evaluation import read_gold

    gold = tmp_path / "chats.jsonl"
    gold.write_text('{"history": ["What is aHSCT for MS?"], "question": "is it safe?", '
                    '"expected_documents": ["risks-treatment-related-mortality"]}\n'
                    '{"qid": "q2", "question": "what is apheresis", "expected": ["x"]}\n')
    first, second = read_gold(gold)
    assert first.history == ("What is aHSCT for MS?",) and first.qid == "chats-1"
    assert first.expected == ("risks-treatment-related-mortality",)
    assert second.history == () and second.qid == "q2"


def test_qa_eval_answers_conversation_cases_with_their_history(fake_engine, tmp_path):
    from qa.evaluation import evaluate_gold, read_gold

    gold = tmp_path / "chats.jsonl"
    gold.write_text('{"history": ["What is apheresis?"], "question": "is it given by drip?", '
                    '"expected_documents": ["apheresis-test"]}\n')
    report = evaluate_gold(fake_engine, read_gold(gold))
    assert report.hit_at_1 == 1.0
    alone = gold.with_name("alone.jsonl")
    alone.write_text('{"question": "is it given by drip?", "expected": ["apheresis-test"]}\n')
    assert evaluate_gold(fake_engine, read_gold(alone)).hit_at_1 == 0.0  # the history decided


def test_triage_scores_count_ordinary_foreign_messages_given_the_numbers_first():
    from qa.evaluation import triage_scores

    def case(category, language, predicted, flags=()):
        return {"category": category, "language": language, "predicted": predicted,
                "kind": "no_answer", "flags": list(flags)}

    scores = triage_scores([
        case("general", "es", "emergency", ("emergency", "unsupported_language")),
        case("personal_advice", "nl", "unsupported_language", ("unsupported_language",)),
        case("out_of_scope", "uk", "unsupported_language", ("unsupported_language",)),
        case("emergency", "es", "emergency", ("emergency", "unsupported_language")),
        case("general", "en", "emergency", ("emergency",)),
    ])
    numbers_first = scores["language.ordinary_numbers_first"]
    assert (numbers_first.hits, numbers_first.total) == (1, 3)


def test_personal_advice_given_under_the_emergency_card_counts_only_in_the_with_card_recall():
    """The strict recall counts the card as the reply's reading; the second one asks whether the
    personal-advice handling was given at all."""
    from qa.evaluation import triage_scores

    def advice(predicted, flags):
        return {"category": "personal_advice", "language": "en", "predicted": predicted,
                "kind": "answer", "flags": list(flags)}

    scores = triage_scores([advice("personal_advice", ("personal_advice",)),
                            advice("personal_advice", ("emergency", "personal_advice")),
                            advice("general", ())])
    strict, with_card = scores["personal_advice.recall"], scores["personal_advice.recall.with_card"]
    assert (strict.hits, strict.total) == (1, 3)
    assert (with_card.hits, with_card.total) == (2, 3)


def test_a_message_refused_as_no_question_counts_as_kept_out_of_scope():
    from qa.errors import InvalidQuestion
    from qa.evaluation import triage_reply

    def ask(text, as_typed=False):
        raise InvalidQuestion("the question has no words")

    case = triage_reply(ask, {"text": "?", "category": "out_of_scope"})
    assert (case["kind"], case["predicted"], case["flags"]) == ("invalid", "out_of_scope", [])
    assert case["reason"] == "refused: the question has no words"
