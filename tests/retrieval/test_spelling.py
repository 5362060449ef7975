"""Spelling tolerance: only unknown words, only towards the library, only when confident."""

import pytest

from qa.domain import Correction
from qa.retrieval.spelling import Speller, medical_words

VOCABULARY = {"lupus": 40, "sclerosis": 30, "mesenchymal": 12, "stem": 90, "cell": 80,
              "cells": 70, "autoimmune": 25, "haematopoietic": 9, "rituximab": 3,
              "alemtuzumab": 5, "transplant": 50}
SPELLER = Speller(VOCABULARY, terms=["ocrelizumab", "crohn's disease"])


@pytest.mark.parametrize("typed, corrected", [
    ("lupis", "lupus"),
    ("sclerosys", "sclerosis"),
    ("mesenchimal", "mesenchymal"),
    ("autoimune", "autoimmune"),
    ("stemcell", "stem cell"),
    ("ocrelizumub", "ocrelizumab"),  # a concept-table term
])
def test_unknown_words_near_a_library_word_are_corrected(typed, corrected):
    assert SPELLER.correct_word(typed) == corrected


@pytest.mark.parametrize("word", [
    "rituximab", "alemtuzumab",   # real drugs are never turned into other words
    "husband", "tomorrow",        # English words stay as typed
    "dont", "isnt",               # contractions typed without an apostrophe
    "zzzzqqq",                    # nothing near it
    "ms", "sle",                  # too short to guess
])
def test_known_short_and_hopeless_words_are_left_alone(word):
    assert SPELLER.correct_word(word) is None


def test_contractions_are_left_alone():
    assert SPELLER.correct("what if it doesn't work and isn’t safe") == (
        "what if it doesn't work and isn’t safe", [])


def test_a_possessive_name_is_corrected_like_any_word():
    """"'s" after a word makes it possessive, not half of a contraction: a misspelt disease
    named after a person ("Krohn's", "Sjorgen's") is corrected, and the "'s" kept."""
    speller = Speller({"crohn": 20, "disease": 50}, known=frozenset({"it", "s", "disease"}))
    assert speller.correct("is Krohn's disease") == (
        "is crohn's disease", [Correction("Krohn", "crohn")])
    assert speller.correct("is Krohn’s disease")[0] == "is crohn’s disease"
    assert speller.correct("it's Krohn disease")[0] == "it's crohn disease"



def test_a_possessive_name_becomes_only_a_name_the_library_uses():
    """A possessive is often someone's name: "Baldur's Gate" is a game, not "balder"; an
    unknown possessive name the library never uses is left as typed."""
    speller = Speller({"crohn": 20, "disease": 50},
                      known=frozenset({"balder", "gate", "is", "s", "disease"}))
    assert speller.correct("is Baldur's Gate")[0] == "is Baldur's Gate"


def test_a_sentence_keeps_its_words_and_reports_each_correction():
    text, corrections = SPELLER.correct("Can stemcell therapy help Lupis?")
    assert text == "Can stem cell therapy help lupus?"
    assert [(c.typed, c.corrected) for c in corrections] == [("stemcell", "stem cell"),
                                                             ("Lupis", "lupus")]


def test_tied_candidates_that_are_forms_of_one_word_count_as_one():
    speller = Speller({"relapse": 200, "relapses": 180, "relates": 3, "anaemia": 5, "anemia": 40},
                      known=frozenset())
    assert speller.correct_word("relapes") == "relapse"   # relapse(s) 380 against relates 3
    assert speller.correct_word("aneamia") == "anemia"    # UK and US spellings of one word


def test_a_tie_between_different_words_is_left_alone():
    # "cists" is one letter from each, and sounds like both.
    speller = Speller({"costs": 20, "casts": 15}, known=frozenset())
    assert speller.correct_word("cists") is None


def test_a_misspelt_english_word_the_library_never_uses_becomes_that_word():
    english = frozenset({"cognitive", "incontinence", "husband", "tomorrow"})
    speller = Speller(VOCABULARY, known=english)
    assert speller.correct_word("congnitive") == "cognitive"
    assert speller.correct_word("incontinance") == "incontinence"
    # A drug name near no English word, and short words, are never guessed at.
    assert speller.correct_word("nipocalimab") is None
    assert speller.correct_word("husbd") is None


def test_a_word_typed_with_a_capital_inside_is_a_name_and_left_alone():
    speller = Speller({"grown": 5, "stem": 9}, known=frozenset())
    assert speller.correct_word("nurown") == "grown"  # the same letters, typed plainly
    assert speller.correct("has NurOwn worked for anyone") == ("has NurOwn worked for anyone", [])


def test_a_misspelt_word_starting_a_sentence_is_still_corrected():
    speller = Speller(VOCABULARY, known=frozenset({"cognitive", "problems"}))
    assert speller.correct("Congnitive problems after aHSCT?")[0] == "cognitive problems after aHSCT?"


def test_a_real_word_typed_for_another_is_corrected_only_as_a_listed_phrase():
    speller = Speller({"stem": 9, "cell": 9, "trials": 9}, known=frozenset({"sell", "stem"}),
                      sound_alikes={"stem sell": "stem cell", "trails": "trials"})
    text, corrections = speller.correct("Can a Stem  Sell transplant help? any CAR-T trails?")
    assert text == "Can a stem cell transplant help? any CAR-T trials?"
    assert [(c.typed, c.corrected) for c in corrections] == [("Stem  Sell", "stem cell"),
                                                             ("trails", "trials")]
    assert speller.correct("I sell stem ginger to trailsmen")[1] == []  # only whole phrases


def test_sound_alike_phrases_are_looked_up_however_they_were_spaced_in_the_table():
    speller = Speller({"stem": 9, "cell": 9}, known=frozenset({"sell", "stem"}),
                      sound_alikes={"Stem   Sell": "stem cell", "  ": "ignored"})
    assert speller.correct("a stem sell transplant")[0] == "a stem cell transplant"


def test_an_english_word_one_edit_away_beats_a_library_word_two_edits_away():
    speller = Speller({"nicotine": 30, "lupus": 40}, known=frozenset({"biotin", "husband"}))
    assert speller.correct_word("biotine") == "biotin"   # not the library's "nicotine"
    # With no nearer English word, the library word two edits away still wins.
    assert speller.correct_word("nicotinne") == "nicotine"


@pytest.mark.parametrize("typed, meant", [
    ("loopus", "lupus"),                        # not "loops", one letter nearer
    ("nefritis", "nephritis"),                  # not "neuritis"
    ("cyclofosfamide", "cyclophosphamide"),     # four edits away, the same sound
    ("clame", "claim"),                         # not "came"
])
def test_a_word_spelt_by_ear_becomes_the_library_word_it_sounds_like(typed, meant):
    speller = Speller({"lupus": 90, "nephritis": 5, "cyclophosphamide": 50, "claim": 7,
                       "came": 14, "calm": 17},
                      known=frozenset({"loops", "neuritis", "husband"}))
    assert speller.correct_word(typed) == meant


def test_with_a_nearer_word_at_hand_only_a_word_sounding_the_same_to_both_codes_wins():
    # "shoud": one letter from "should"; "short" shares one phonetic code only.
    speller = Speller({"short": 40, "should": 30}, known=frozenset())
    assert speller.correct_word("shoud") == "should"


def test_of_one_word_s_forms_the_nearest_to_what_was_typed_is_chosen():
    speller = Speller({"haematopoietic": 50, "hematopoietic": 5}, known=frozenset())
    assert speller.correct_word("hematopoetic") == "hematopoietic"  # not the commoner UK form


def test_an_english_word_is_only_guessed_with_the_same_first_letter():
    # The English list lacks many words of this field: "probiotics" must not become the
    # everyday "robotics", two edits away with another first letter.
    speller = Speller({"stem": 9, "cell": 9}, known=frozenset({"robotics", "commit", "vomit"}))
    assert speller.correct_word("probiotics") is None
    assert speller.correct_word("vommit") == "vomit"  # not "commit", one edit nearer in length


def test_a_silent_first_letter_may_be_left_out():
    speller = Speller({"stem": 9}, known=frozenset({"psoriasis", "pneumonia", "sorcery"}))
    assert speller.correct_word("soriasis") == "psoriasis"
    assert speller.correct_word("neumonia") == "pneumonia"


DRUGS = {"ozempic": ["semaglutide"], "gilenia": ["fingolimod"], "gilenya": ["fingolimod"],
         "valcyte": ["valganciclovir"], "valtrex": ["valaciclovir"], "insulins": ["insulins"],
         "insulin": ["insulin"]}


def test_a_medicine_s_name_is_never_corrected_into_another_word():
    speller = Speller({"olympic": 40, "vacate": 5, "stem": 9}, known=frozenset(),
                      drug_names=DRUGS)
    assert speller.correct_word("ozempic") is None
    assert speller.correct_word("valcyte") is None
    assert speller.correct("Can Ozempic be taken with stem cells?")[1] == []


def test_a_medicine_s_name_may_become_another_spelling_or_form_of_the_same_medicine():
    speller = Speller({"gilenya": 30, "insulin": 50, "valtrex": 9}, known=frozenset(),
                      drug_names=DRUGS)
    assert speller.correct_word("gilenia") == "gilenya"
    assert speller.correct_word("insulins") == "insulin"
    assert speller.correct_word("valcyte") is None  # another medicine, not a spelling of it


def test_without_the_list_the_same_word_is_corrected():
    """The rule above is what keeps the medicine: the dictionary alone takes it for a slip."""
    assert Speller({"olympic": 40}, known=frozenset()).correct_word("ozempic") == "olympic"


def test_a_medical_word_the_library_lacks_is_not_turned_into_a_library_word():
    """"nephrologist" is a word (NIH consumer-health text uses it), two edits from the library's
    "neurologist"; "areata" (alopecia areata) is not "area"."""
    speller = Speller({"neurologist": 40, "area": 30, "alopecia": 2})
    assert speller.correct_word("nephrologist") is None
    assert speller.correct_word("areata") is None


def test_a_medical_word_one_slip_from_a_library_word_is_still_corrected():
    """"sclerosus" is a word (lichen sclerosus), but typed beside "systemic" it is one slip
    from the library's "sclerosis": the nearer reading wins."""
    assert "sclerosus" in medical_words()
    assert SPELLER.correct_word("sclerosus") == "sclerosis"


def test_the_medical_word_list_is_words_only():
    words = medical_words()
    assert {"nephrologist", "areata", "plasmapheresis"} <= words
    assert all(w.isalpha() and w.islower() and not w.startswith("#") for w in words)


def test_sound_does_not_overrule_a_nearer_library_word_that_sounds_the_same():
    """"faild" sounds like the library's "field" to both codes, but "failed" is one letter away
    and sounds the same too: sound cannot choose, so the nearer reading stands."""
    speller = Speller({"failed": 8, "field": 1, "lupus": 95}, known=frozenset())
    assert speller.correct_word("faild") == "failed"
    assert speller.correct_word("loopus") == "lupus"  # with no nearer library word, sound wins


def test_a_prefix_before_a_library_word_is_a_word_not_a_slip():
    """"bispecific", "revaccinated" and "avascular" are the library's words with a prefix, not
    slips for them; a prefix before a word the library lacks is no evidence ("referal" is a slip
    for referral, not re + feral), nor before a short one ("presure" is not pre + sure)."""
    speller = Speller({"specific": 20, "vaccinated": 9, "vascular": 4, "referral": 12,
                       "pressure": 15, "sure": 30}, known=frozenset({"feral"}))
    assert speller.correct_word("bispecific") is None
    assert speller.correct_word("revaccinated") is None
    assert speller.correct_word("avascular") is None
    assert speller.correct_word("referal") == "referral"
    assert speller.correct_word("presure") == "pressure"


def test_a_prefix_before_a_long_english_word_is_a_word_too():
    """"premedication" is pre + medication, a word the library never uses but English has; a
    short English word behind a prefix is no evidence ("refactory" is a slip, not re + factory)."""
    speller = Speller({"premeditation": 3, "refractory": 5},
                      known=frozenset({"medication", "factory"}))
    assert speller.correct_word("premedication") is None
    assert speller.correct_word("refactory") == "refractory"


def test_a_country_s_name_is_left_as_typed_but_is_no_evidence_of_english():
    """"Costa Rica" is a place people ask about, not "Costa rich"; "Curacao" typed without its
    accent likewise. A country's name says nothing about the message's language."""
    speller = Speller({"rich": 30, "cure": 40, "lupus": 9})
    assert speller.correct("stem cell clinics in Costa Rica for lupis") == (
        "stem cell clinics in Costa Rica for lupus", [Correction("lupis", "lupus")])
    assert speller.correct_word("curacao") is None
    assert not speller.is_known("rica")


def test_an_everyday_word_two_edits_away_corrects_only_a_long_word():
    """"oximeter" is a ward word the lists lack, not a slip for "odometer", nor "subcut" for
    "submit": two edits from an English word is too far for a short word. A long word typed
    with two slips still finds its English word."""
    speller = Speller({"lupus": 9}, known=frozenset({"odometer", "submit", "hypertension"}))
    assert speller.correct_word("oximeter") is None
    assert speller.correct_word("subcut") is None
    assert speller.correct_word("hypertennsoin") == "hypertension"
    assert speller.correct_word("odometr") == "odometer"  # one edit away stays a slip


def test_a_word_split_by_dictation_is_joined_when_the_whole_is_a_library_word():
    """"trans plant" and "plate let" are one word each, split into shorter real words; words the
    library itself writes side by side ("clinical trials") stay two."""
    speller = Speller({"transplant": 40, "platelet": 9, "clinical": 20, "trials": 15,
                       "clinicaltrials": 2, "after": 30, "count": 5})
    assert speller.correct("low plate let count after trans plant") == (
        "low platelet count after transplant",
        [Correction("plate let", "platelet"), Correction("trans plant", "transplant")])
    assert speller.correct("clinical trials after transplant") == (
        "clinical trials after transplant", [])


def test_dictated_letters_join_into_the_librarys_acronym():
    """"f d a" is the FDA spoken letter by letter; letters that make no library acronym, or an
    everyday word, stay apart."""
    speller = Speller({"fda": 12, "approved": 9, "a": 300, "cell": 20},
                      known=frozenset({"a", "i", "am", "approved", "cell"}))
    assert speller.correct("f d a approved stem cell list")[0] == "fda approved stem cell list"
    assert speller.correct("is a b cell the same")[0] == "is a b cell the same"
    assert speller.correct("i a m unsure")[0] == "i a m unsure"


def test_letters_spelt_with_their_names_join_into_the_librarys_acronym():
    """A recogniser writes a spelt-out acronym as the letters' names ("em aitch are ay" is the
    MHRA, "en em oh ess dee" NMOSD); names that are everyday words ("see you", "why are you")
    stay words unless the whole run is one of the library's acronyms, and two letters are never
    enough."""
    speller = Speller({"mhra": 12, "nmosd": 40, "cu": 2, "ra": 4, "regulated": 3},
                      known=frozenset({"see", "you", "why", "are", "is", "it", "regulated",
                                       "by", "the"}))
    assert speller.correct("is it regulated by the em aitch are ay")[0] == \
        "is it regulated by the mhra"
    assert speller.correct("stem cells for en em oh ess dee")[0] == "stem cells for nmosd"
    assert speller.correct("see you and why are you")[0] == "see you and why are you"
    assert speller.correct("are ay flare")[0] == "are ay flare"


def test_a_split_word_one_slip_from_a_long_medicine_is_joined_and_corrected():
    """"filgrass tim" is filgrastim split by dictation with one slip; two everyday words, or a
    short word beside another, are never joined into a near word ("daughter is" is not
    "daughters", "my probiotics" is not "macrobiotics")."""
    speller = Speller({"filgrastim": 6, "bone": 8, "pain": 9, "daughters": 3,
                       "macrobiotics": 1},
                      known=frozenset({"tim", "bone", "pain", "daughter", "is", "my",
                                       "probiotics"}))
    assert speller.correct("filgrass tim bone pain") == (
        "filgrastim bone pain", [Correction("filgrass tim", "filgrastim")])
    assert speller.correct("my daughter is on probiotics")[0] == "my daughter is on probiotics"
    assert speller.correct("my probiotics")[0] == "my probiotics"


def test_a_real_word_typed_for_another_is_read_from_its_neighbour():
    """"steam cell" is "stem cell": "steam" is an English word the library never uses, one slip
    from "stem", which the library writes before "cell" most of the time. A neighbour that
    precedes many words ("of") is no evidence: "lots of" is not "loss of"."""
    speller = Speller({"stem": 20, "cell": 25, "loss": 6, "of": 200, "hair": 5},
                      known=frozenset({"steam", "lots", "loos"}),
                      pairs={("stem", "cell"): 18, ("loss", "of"): 6, ("hair", "loss"): 4})
    assert speller.correct("is steam cell therapy safe") == (
        "is stem cell therapy safe", [Correction("steam", "stem")])
    assert speller.correct("hair loos after chemo")[0] == "hair loss after chemo"
    assert speller.correct("lots of questions") == ("lots of questions", [])


@pytest.mark.parametrize("heard, meant", [
    ("rituals mab before transplant", "rituximab before transplant"),
    ("how long off ke simple first", "how long off kesimpta first"),
    ("neutron epic diet rules", "neutropenic diet rules"),
    ("my daughter has crones", "my daughter has crohns"),
])
def test_a_name_heard_as_everyday_words_becomes_the_name(heard, meant):
    """A speech recogniser with no medical vocabulary writes a name as the English words it
    heard; they sound like the name (one Metaphone sound may differ, or two swap, in a run of
    words) and look like it."""
    speller = Speller({"rituximab": 5, "neutropenic": 4, "transplant": 40, "diet": 6,
                       "before": 30, "first": 20, "rules": 3, "daughter": 2, "long": 9},
                      terms=["kesimpta", "crohns", "rituximab", "neutropenic"],
                      known=frozenset({"rituals", "mab", "ke", "simple", "neutron", "epic",
                                       "crones", "before", "how", "long", "off", "first", "my",
                                       "daughter", "has", "diet", "rules"}))
    assert speller.correct(heard)[0] == meant


@pytest.mark.parametrize("text", [
    "would msc infusions interfere with my drugs",  # one word one sound from a drug name
    "is car t safe for lupus",                       # never across a function word ("is")
    "a cover letter for a nurse",                    # "letter for a" is not letermovir
    "rituximab before transplant",                   # a name is never turned into another
    "fludarabine and cyclophosphamide",
    "the trial ran MIST for years",                  # a word typed like a name is one
])
def test_everyday_words_and_names_are_not_heard_as_another_name(text):
    speller = Speller({"interferon": 6, "infusions": 5, "letermovir": 2, "nurse": 3,
                       "yescarta": 2, "lupus": 40, "rituximab": 5, "transplant": 40,
                       "fludarabine": 4, "cyclophosphamide": 5, "cover": 2, "randomised": 9,
                       "trial": 30, "years": 10, "rheumatologists": 3},
                      terms=["yescarta", "letermovir", "interferon"],
                      known=frozenset({"would", "interfere", "with", "my", "drugs", "is", "car",
                                       "t", "safe", "for", "a", "cover", "letter", "nurse",
                                       "before", "and", "msc", "the", "ran", "mist", "says",
                                       "no"}))
    assert speller.correct(text)[0] == text


def test_a_typing_slip_beside_a_word_is_left_to_the_typing_speller():
    """"rheumatoligist says" sounds like "rheumatologists", but a long word no dictionary knows
    is a typing slip: it is corrected on its own and "says" stays."""
    speller = Speller({"rheumatologist": 5, "rheumatologists": 3},
                      known=frozenset({"my", "says", "no"}))
    assert speller.correct("my rheumatoligist says no")[0] == "my rheumatologist says no"


# With the real English lists (symspellpy's word counts and word pairs).
HEARD_VOCABULARY = {"rituximab": 5, "melphalan": 5, "multicentre": 3, "transplant": 40,
                    "infection": 20, "injection": 8, "person": 5, "mobilisation": 6, "cell": 50,
                    "centre": 9, "before": 30, "needed": 4, "after": 60, "day": 20, "late": 3}
HEARD_SPELLER = Speller(HEARD_VOCABULARY, terms=["rituximab", "melphalan", "person", "infection"],
                        drug_names={"rituximab": ["rituximab"], "melphalan": ["melphalan"]})


def test_a_misheard_name_is_found_with_the_real_english_lists():
    assert HEARD_SPELLER.correct("rituals mab before transplant")[0] == \
        "rituximab before transplant"


@pytest.mark.parametrize("text", [
    "is a meal plan needed after transplant",  # an everyday phrase: an English word pair
    "how big is a prison cell",                # a common word alone is the word meant
    "mobilisation injection a day late",       # "a" begins the next phrase, it ends no name
    "the multi storey car park at the centre",  # a library word that is no spoken name
])
def test_everyday_phrases_are_not_heard_as_names(text):
    """A recogniser writes words it knows for a name it does not know: an everyday phrase, a
    common word, or a common English word as the name are read as what they say."""
    assert HEARD_SPELLER.correct(text)[0] == text


def test_acronyms_people_spell_out_are_not_heard_in_everyday_words():
    """A trial's acronym ("STARMS") is spelt out, not misheard as "sore arms"."""
    speller = Speller({"starms": 4}, terms=["starms"], spoken_names=[],
                      known=frozenset({"sore", "arms", "after", "my"}))
    assert speller.correct("my sore arms after")[0] == "my sore arms after"


# Names heard in more pieces (the eighth session of 2026-12-03), with the real English lists.
PIECES_SPELLER = Speller(
    {"rituximab": 5, "ocrevus": 4, "neutropenia": 6, "sclerosis": 30, "multiple": 30,
     "rheumatoid": 20, "injectable": 3, "stelara": 2, "detemir": 1, "transplant": 40,
     "after": 60, "before": 30},
    terms=["rituximab", "ocrevus", "sclerosis", "multiple sclerosis", "rheumatoid arthritis",
           "stelara"],
    drug_names={name: [name] for name in ("rituximab", "ocrevus", "stelara", "detemir")})


@pytest.mark.parametrize("heard, meant", [
    ("ritz ux a mab after transplant", "rituximab after transplant"),  # "a" inside a name
    ("occur eve us or transplant", "ocrevus or transplant"),          # "-us" heard as "us"
    ("after rich tuxy mab", "after rituximab"),                     # a piece written as heard
    ("what is new trope enya", "what is neutropenia"),              # a medical word, four pieces
    ("transplant for multiple scare roses", "transplant for multiple sclerosis"),
])
def test_a_name_heard_in_more_pieces_becomes_the_name(heard, meant):
    """Recognisers split long names into up to four pieces, write "a" between them and "us" for
    a closing "-us", and write a piece no dictionary has as it sounded; a name common enough in
    English to be written whole alone (sclerosis) is still heard when it came out in pieces."""
    assert PIECES_SPELLER.correct(heard)[0] == meant


@pytest.mark.parametrize("text", [
    "my rheum said no",            # the name begins with a word of the run: that word was said
    "they inject all of it",
    "still a real worry",          # "a" joins no everyday pair into a name
    "my insulin is due tmrw",      # a piece without a vowel is shorthand, not a sound
    "can they help us after",      # "us" closes a name only after a piece of it
])
def test_everyday_phrases_are_not_heard_as_a_name_in_pieces(text):
    assert PIECES_SPELLER.correct(text)[0] == text
