"""The disclaimer policy: which disclaimers a reply carries, and the emergency wording."""

from __future__ import annotations

from datetime import date

import pytest

from qa.answering.disclaimers import DisclaimerPolicy
from qa.domain import Quote, QuoteSource, Triage
from qa.settings import Settings

TODAY = date(2026, 11, 24)
ALL_KINDS = ("answer", "no_answer", "out_of_scope", "emergency")


def policy(**overrides) -> DisclaimerPolicy:
    """The policy as the engine builds it, with today's date fixed."""
    built = DisclaimerPolicy.from_settings(Settings(**overrides))
    built.today = lambda: TODAY
    return built


def quote(topics=(), reviewed="2026-01-10", text="A passage.", title="A document") -> Quote:
    return Quote(passage_id="p1", text=text, highlights=(), score=0.7, topics=tuple(topics),
                 source=QuoteSource(document_id="d1", title=title, section="s", url="",
                                    reviewed=reviewed, evidence="review"))


def codes(items) -> list[str]:
    return [d.code for d in items]


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_the_general_disclaimer_comes_first_on_every_reply(kind):
    assert codes(policy().disclaimers(kind, Triage(), []))[0] == "general"


def test_from_settings_reads_the_safety_settings():
    built = DisclaimerPolicy.from_settings(Settings(
        emergency_number="112", crisis_line="116 123", operator_name="Example Trust",
        transplant_line_text="the ward on 0100", source_max_age_days=400))
    assert (built.emergency_number, built.crisis_line, built.operator_name,
            built.transplant_line, built.source_max_age_days) == (
        "112", "116 123", "Example Trust", "the ward on 0100", 400)


def test_emergency_message_is_short_calm_and_names_the_numbers():
    message = policy().emergency_message(Triage("emergency", "r", ("emergency",), ("medical",)))
    assert "911" in message and "your local emergency number" in message
    assert "!" not in message and len(message.split()) <= 60
    assert "transplant" not in message and "988" not in message


def test_emergency_message_adds_the_transplant_line_in_transplant_context():
    triage = Triage("emergency", "r", ("emergency",), ("transplant", "medical"))
    message = policy(transplant_line_text="the City transplant unit on 0100 000").emergency_message(
        triage)
    assert "the City transplant unit on 0100 000" in message and "911" in message


def test_emergency_message_for_self_harm_gives_the_crisis_line_first():
    message = policy().emergency_message(Triage("emergency", "r", ("emergency",), ("self_harm",)))
    assert message.index("988") < message.index("911")
    assert "your local emergency number" in message and "medical emergency" not in message


def test_emergency_numbers_follow_the_deployment():
    message = policy(emergency_number="112", crisis_line="116 123").emergency_message(
        Triage("emergency", "r", ("emergency",), ("self_harm", "medical")))
    assert "112" in message and "116 123" in message and "911" not in message


@pytest.mark.parametrize("kind", ("emergency", "out_of_scope"))
def test_replies_without_quotes_carry_no_topic_disclaimers(kind):
    triage = Triage(kind, "r", ("personal_advice",))
    assert codes(policy().disclaimers(kind, triage, [quote(("msc", "ahsct"))])) == ["general"]


def test_triage_flags_add_their_disclaimers_even_without_quotes():
    triage = Triage("unproven_clinic", "r", ("unproven_clinic", "personal_advice"))
    assert codes(policy().disclaimers("no_answer", triage, [])) == [
        "general", "personal_advice", "unproven_clinic"]


@pytest.mark.parametrize("topics, text, expected", [
    (("msc", "evidence"), "A passage.", ["experimental"]),
    (("car-t",), "A passage.", ["experimental"]),
    (("ahsct", "procedure"), "A passage.", ["chemotherapy"]),
    (("basics",), "It uses high-dose chemotherapy first.", ["chemotherapy"]),
    (("red-flags", "regulation"), "A passage.", ["unproven_clinic"]),
    (("basics", "glossary"), "A passage.", []),
])
def test_topic_disclaimers_follow_the_quoted_passages(topics, text, expected):
    assert codes(policy().disclaimers("answer", Triage(), [quote(topics, text=text)]))[1:] == expected


@pytest.mark.parametrize("text, expected", [
    ("It uses High-Dose Chemotherapy first.", True),
    ("The CONDITIONING REGIMEN lasts a week.", True),
    ("Conditioning chemotherapy comes before the graft.", True),
    ("Chemotherapy alone is not described here.", False),   # the word, not the phrase
    ("Air conditioning in the ward.", False),
    ("No such treatment is mentioned.", False),
    ("Hochdosis: high-dose chemotherapy \u00e9tait utilis\u00e9e.", True),  # not ASCII: regex only
])
def test_chemotherapy_mention_is_the_regex_verdict(text, expected):
    from qa.answering.disclaimers import CHEMOTHERAPY_TEXT, mentions_chemotherapy

    assert mentions_chemotherapy(text) is expected
    assert (CHEMOTHERAPY_TEXT.search(text) is not None) is expected


def test_older_sources_are_named():
    quotes = [quote(reviewed="2020-03-01", title="Old guide"), quote(title="New guide"),
              quote(reviewed=None, title="Undated page")]
    older = policy().disclaimers("answer", Triage(), quotes)[-1]
    assert older.code == "older_source"
    assert "Old guide" in older.text and "Undated page" in older.text
    assert "New guide" not in older.text and "3 years" in older.text


def test_the_source_age_limit_is_configurable():
    recent_enough = [quote(reviewed="2026-01-10")]
    assert "older_source" not in codes(policy().disclaimers("answer", Triage(), recent_enough))
    assert "older_source" in codes(policy(source_max_age_days=30).disclaimers(
        "answer", Triage(), recent_enough))


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_operator_disclosure_on_every_reply_when_configured(kind):
    with_operator = policy(operator_name="Example Health Trust").disclaimers(kind, Triage(), [])
    assert with_operator[-1].code == "operator"
    assert with_operator[-1].text == "This assistant is provided by Example Health Trust."
    assert "operator" not in codes(policy().disclaimers(kind, Triage(), []))


def test_operator_disclosure_wording_is_configurable():
    custom = policy(operator_name="Example Trust",
                    operator_disclosure="Run by {operator} for its patients.")
    assert custom.disclaimers("answer", Triage(), [])[-1].text == "Run by Example Trust for its patients."


def test_engine_quotes_carry_their_passage_topics_for_the_policy(fake_engine):
    answer = fake_engine.ask("what is apheresis?")
    assert answer.quotes[0].topics == ("procedure", "ahsct")
    assert "chemotherapy" in codes(answer.disclaimers)
    assert "topics" not in answer.to_json()["quotes"][0]
