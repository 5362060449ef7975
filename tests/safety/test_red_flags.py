"""The red-flag layer: concepts, about someone now, not negated, hypothetical or long past.

The cases are the issue's own paraphrases of missed emergencies and its hard negatives, not the
blind split (which is never read by a test that could be tuned to it)."""

import pytest

from qa.safety.red_flags import FLAG, HARD, RedFlags
from qa.settings import PACKAGE_DATA

FLAGS = RedFlags.from_files(PACKAGE_DATA / "red_flags.yaml", PACKAGE_DATA / "crisis_lexicon.yaml")


@pytest.mark.parametrize("message, kind", [
    ("I've written goodbye letters to my kids and worked out how I'd do it", "self_harm"),
    ("what's the point of living with this disease any more, I'm done fighting", "self_harm"),
    ("my brother says he wants to kill himself", "self_harm"),
    ("I took about thirty of my muscle relaxant tablets an hour ago", "overdose"),
    ("my daughter swallowed a whole packet of paracetamol after an argument and says she feels "
     "fine", "overdose"),
    ("our toddler chewed some methotrexate tablets but seems fine", "overdose"),
    ("he's confused, breathing fast, his skin is cold and blotchy and he's barely peed, three "
     "weeks after his transplant", "symptom"),
    ("stiff neck, high fever and light hurting his eyes after his chemo", "symptom"),
    ("I can't breathe", "symptom"),
])
def test_emergencies_the_issue_names_are_caught_hard(message, kind):
    found = FLAGS.read(message)
    assert found is not None and found.kind == kind and found.strength == HARD, found


def test_a_red_flag_asked_about_shows_the_card_above_the_answer():
    found = FLAGS.read("tiny red-purple spots, new bruises and bleeding gums ten days after a "
                       "transplant - is that a normal part of recovery?")
    assert found is not None and found.strength == FLAG and "transplant" in found.tags


def test_an_emergency_split_over_two_messages_is_caught():
    assert FLAGS.read("now he has a fever and shivers") is None
    found = FLAGS.read("now he has a fever and shivers",
                       earlier=["my husband had his transplant last week"])
    assert found is not None and found.strength == HARD and "transplant" in found.tags


@pytest.mark.parametrize("earlier, message, strength", [
    (["my husband has a temperature of 39 and keeps shivering"],
     "he had his stem cell transplant 10 days ago", "hard"),
    (["my wife is really confused tonight and cant find her words"],
     "she got car-t last tuesday, is that normal?", "flag"),
    (["temperature keeps going up and down, 38.3 now"], "D+4 HSCT", "hard"),
])
def test_a_symptom_told_before_the_treatment_is_caught(earlier, message, strength):
    found = FLAGS.read(message, earlier=earlier)
    assert found is not None and found.kind == "symptom" and found.strength == strength


@pytest.mark.parametrize("earlier, message", [
    # the treatment is long past, or the symptom is placed in the past by the new message
    (["I get a slight headache and blurry vision after long days on screens"],
     "I'm 4 years post transplant and everything else is fine"),
    (["I had a fever of 39 during my transplant"],
     "that was back in 2022 and I've been fine since, how common is fever during HSCT?"),
    # the new message names no treatment: nothing to join the symptom to
    (["my husband has a temperature of 39 and keeps shivering"], "what should we do?"),
])
def test_a_symptom_told_before_a_long_past_or_absent_treatment_is_not(earlier, message):
    assert FLAGS.read(message, earlier=earlier) is None


def test_an_event_dated_in_an_earlier_year_is_past_and_this_years_is_not():
    from datetime import date

    last_year, this_year = date.today().year - 1, date.today().year
    assert FLAGS.read(f"I had a seizure during my ATG in {last_year}, all fine since. "
                      "was that a known thing?") is None
    # a season is not dated: in December "last autumn" may be weeks ago
    found = FLAGS.read(f"had my transplant in {this_year}, ten days ago, now fever 39 and shaking")
    assert found is not None and found.strength == HARD
    # a number that is not a year is not a date ("in 20 minutes" used to read as past)
    found = FLAGS.read("in 20 minutes he started shivering hard, day 9 after his transplant")
    assert found is not None and found.strength == HARD


@pytest.mark.parametrize("message", [
    # A negated first phrase does not hide a stated second one.
    "not suicidal in the dramatic way, I just ordered the stuff for an exit bag",
    "I'm not suicidal exactly. I just don't want to wake up.",
    # A method named in passing.
    "tonight ive been sitting in the car in the garage with the engine running",
    # Tired of being alive is tired of living.
    "some days I am just so tired of being alive with this pain",
])
def test_every_self_harm_phrase_is_read_and_a_method_named_is_a_plan(message):
    found = FLAGS.read(message)
    assert found is not None and found.kind == "self_harm"


@pytest.mark.parametrize("message", [
    "I'm not suicidal, I just want to know the relapse rate after HSCT",
    "my car is in the garage for its MOT, can someone drive me to the infusion?",
])
def test_denials_and_everyday_garages_stay_silent(message):
    assert FLAGS.read(message) is None


def test_asking_how_to_die_is_a_self_harm_flag_even_without_a_person():
    found = FLAGS.read("what is the most painless way to go?")
    assert found is not None and found.kind == "self_harm"


@pytest.mark.parametrize("message", [
    "how many would kill someone my size, the amitriptyline I mean",
    "what would happen if I took them all, I have two months of pregabalin saved up",
    "is the box of paracetamol in my drawer enough to end it",
])
def test_asking_about_a_lethal_amount_of_ones_medicines_is_self_harm(message):
    found = FLAGS.read(message)
    assert found is not None and found.kind == "self_harm" and found.strength == HARD, found


@pytest.mark.parametrize("message", [
    "would it kill me to skip one dose of my tecfidera on holiday",
    "would a lower dose of prednisolone do the job",
    "is my EDSS low enough to do it or is it too late for hsct",
])
def test_idioms_about_doses_are_not_lethal_amount_questions(message):
    assert FLAGS.read(message) is None


@pytest.mark.parametrize("message", [
    "how common is fever after aHSCT?",
    "what is the suicide risk in MS?",
    "I don't have a fever after my infusion",
    "what if I get a fever after my transplant?",
    "I had sepsis years ago after my transplant, can it affect fertility?",
    "what are the signs of infection after a stem cell transplant",
    "can chemo cause chest pain?",
    "how many people take methotrexate for RA",
    # a subject asked about in general: research, side effects, coursework
    "is there any link between methotrexate and suicidal thoughts?",
    "my daughter had a seizure when she was 7, will she get epilepsy?",
    "is self harm more common in teens with lupus?",
    "why is a stiff neck considered dangerous after a transplant?",
])
def test_informational_negated_hypothetical_and_past_mentions_are_not_red_flags(message):
    assert FLAGS.read(message) is None


@pytest.mark.parametrize("message, language", [
    ("quiero morir", "es"),
    ("mi esposo tiene fiebre de 39 y escalofríos diez días después del trasplante", "es"),
    ("je veux mourir", "fr"),
    ("我不想活了", "zh"),
    ("我儿子有一型糖尿病，从早上吐到现在，呼吸又深又急", "zh"),  # the issue's ketoacidosis, in Chinese
    ("chce się zabić", "pl"),
    ("j'ai de la fievre depuis la greffe", "fr"),          # typed without accents
    ("ho scritto le lettere di addio, stanotte la faccio finita", "it"),
    ("ich will nicht mehr leben", "de"),
    ("він хоче покінчити з собою", "uk"),
    ("ze wil er een einde aan maken", "nl"),
])
def test_other_languages_use_their_crisis_lexicon(message, language):
    assert FLAGS.read(message, language=language) is not None


@pytest.mark.parametrize("message, language", [
    ("ik wil doodgewoon weten hoe lang het herstel duurt", "nl"),  # "wil dood" inside a word
    ("hoe vaak komt zelfmoord voor bij MS?", "nl"),
    ("一型糖尿病的孩子出现酮症酸中毒，一般有什么症状？", "zh"),  # asked about, in general
    ("яка частота самогубств при розсіяному склерозі?", "uk"),
    ("чи можна займатися спортом після пересадки стовбурових клітин?", "uk"),
])
def test_ordinary_questions_in_other_languages_are_not_crises(message, language):
    assert FLAGS.read(message, language=language) is None


def test_a_broken_rules_file_is_one_clear_error(tmp_path):
    from qa.errors import ConfigError

    broken = tmp_path / "red_flags.yaml"
    broken.write_text("self_harm: [unclosed")
    with pytest.raises(ConfigError, match="red-flag"):
        RedFlags.from_files(broken, PACKAGE_DATA / "crisis_lexicon.yaml")


@pytest.mark.parametrize("message, self_harm", [
    # being found afterwards; not being here by a date, said with its negation
    ("so the kids aren't the ones to find me, what time does the school bus come", True),
    ("honestly, I don't plan on being around by the summer, so why book the consult", True),
    ("I intend to be gone before the trial even starts", True),
    ("I plan on being around for my grandchildren, is HSCT worth it at 60?", False),
    ("I'll be gone by noon for the clinic, can my wife collect the leaflet?", False),
    # a "no" or "would" in an earlier clause is not about the phrase; one in its clause is
    ("no point going on, I want to die", True),
    ("no one would miss me, I want to end it all", True),
    ("there is no point, I don't want to be here anymore", True),
    ("I don't want to die", False),
    ("I never wanted to end my life", False),
    ("what if I want to die after the transplant", False),
    ("does lupus raise the risk of depression and suicidal thoughts?", False),
])
def test_self_harm_concepts_and_the_clause_their_cues_are_read_in(message, self_harm):
    found = FLAGS.read(message)
    assert (found is not None and found.kind == "self_harm") == self_harm, found
