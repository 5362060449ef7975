"""Follow-ups inherit the topic of the conversation; new topics and full questions do not."""

import pytest

from qa.retrieval.conversation import resolve
from qa.retrieval.synonyms import SynonymTable
from qa.settings import PACKAGE_DATA

TABLE = SynonymTable.from_file(PACKAGE_DATA / "synonyms.yaml")


@pytest.mark.parametrize("history, message, understood", [
    (["What is aHSCT for multiple sclerosis?"], "is it safe?",
     "is aHSCT for multiple sclerosis safe?"),
    (["What is aHSCT for MS?"], "how long does it take", "how long does aHSCT for MS take"),
    # bare "that", "they": often not the topic (a price, the doctors), so the topic is added
    (["What is aHSCT for MS?"], "how long does that take", "how long does that take (aHSCT for MS)"),
    (["a clinic quoted 45k for stem cells for my MS"], "is that a normal price",
     "is that a normal price (MS)"),
    (["I keep seeing ads for umbilical cord stem cell injections for RA"], "do they work",
     "do they work (umbilical cord for RA)"),
    # the condition a person named stays with the conversation
    (["im 52 with secondary progressive MS", "my friend had HSCT and says it changed her life"],
     "am I too old for the treatment", "am I too old for the treatment of HSCT for progressive MS"),
    (["What is aHSCT for MS?"], "and for RA?", "What is aHSCT for RA?"),
    (["What is aHSCT for multiple sclerosis?"], "what about for lupus?", "What is aHSCT for lupus?"),
    (["What is aHSCT for MS?"], "the cost?", "the cost? (aHSCT for MS)"),
    (["there's a trial of CAR-T for myasthenia gravis"], "does the trial include kids?",
     "does the trial of CAR-T for myasthenia gravis include kids?"),
    # the topic comes from the most recent message that had one, itself resolved first
    (["tell me about mesenchymal stem cells for lupus", "thanks", "ok"], "is it approved?",
     "is mesenchymal stem cells for lupus approved?"),
    (["What is aHSCT for MS?", "and for RA?"], "is it safe?", "is aHSCT for RA safe?"),
])
def test_a_follow_up_inherits_the_topic(history, message, understood):
    assert resolve(message, history, TABLE).understood_as == understood


@pytest.mark.parametrize("history, message, understood", [
    (["What is aHSCT for MS?"], "what is CAR-T?", "what is CAR-T? (MS)"),
    (["my brother has myasthenia and was in ICU"],
     "would a stem cell transplant stop these crises",
     "would a stem cell transplant stop these crises (myasthenia)"),
])
def test_a_new_subject_keeps_the_condition_named_before(history, message, understood):
    resolution = resolve(message, history, TABLE)
    assert resolution.understood_as == resolution.text == understood


def test_a_new_subject_with_its_own_condition_drops_the_old_one():
    resolution = resolve("what is CAR-T for lupus?", ["What is aHSCT for MS?"], TABLE)
    assert resolution.understood_as is None and resolution.text == "what is CAR-T for lupus?"


@pytest.mark.parametrize("history, message", [
    (["What is aHSCT?"], "how much does Lemtrada cost compared with other drugs?"),  # new subject
    (["What is aHSCT for MS?"], "what questions should I ask a clinic before paying a deposit"),
    ([], "is it safe?"),                                                 # nothing to inherit
    (["hello", "thanks"], "is it safe?"),                                # no earlier topic
])
def test_new_topics_and_full_questions_are_used_as_typed(history, message):
    resolution = resolve(message, history, TABLE)
    assert resolution.understood_as is None and resolution.text == message


def test_retrieval_also_reads_the_question_a_follow_up_follows():
    resolution = resolve("the cost?", ["What is aHSCT for MS?"], TABLE)
    assert resolution.understood_as == "the cost? (aHSCT for MS)"
    assert resolution.text == "the cost? (aHSCT for MS) What is aHSCT for MS?"
    swapped = resolve("and for RA?", ["What is aHSCT for MS?"], TABLE)
    assert swapped.text == swapped.understood_as == "What is aHSCT for RA?"


def test_a_follow_up_of_a_message_the_concept_table_does_not_know_reads_that_message():
    resolution = resolve("is it dangerous?", ["what is EBV reactivation"], TABLE)
    assert resolution.understood_as == resolution.text == \
        "is it dangerous? (after: what is EBV reactivation)"
    # a full question of its own, or an earlier message that says nothing, is used as typed
    assert resolve("how do I find a neurologist who knows about trials in Ohio",
                   ["what is EBV reactivation"], TABLE).understood_as is None
    assert resolve("which one?", ["ok thanks"], TABLE).understood_as is None


@pytest.mark.parametrize("message", [
    "ok unrelated but does HSCT affect your thyroid",
    "also, different question: what is NMOSD",
    "another thing - is the clinic in Panama legit for MS?",
])
def test_an_announced_change_of_subject_carries_nothing(message):
    resolution = resolve(message, ["is mesenchymal stem cell therapy approved for lupus"], TABLE)
    assert resolution.understood_as is None and resolution.text == message


def test_one_and_ones_lean_on_the_earlier_topic():
    resolution = resolve("how do I sign up for one", ["any trials of CAR-T for lupus?"], TABLE)
    assert resolution.understood_as == "how do I sign up for one (CAR-T for lupus)"


@pytest.mark.parametrize("history, message, understood", [
    # a fragment marked at its end, or led by "vs" / "for", swaps like "and for RA?"
    (["Do you need a central line for HSCT?"], "for MSCs as well?",
     "Do you need a central line for MSCs?"),
    (["how many people died in the SCOT trial"], "vs cyclophosphamide?",
     "vs cyclophosphamide? (SCOT trial)"),
    # a swap edits the latest question as understood, not the messages joined
    (["hsct for ms success rate", "and for crohns"], "myasthenia?",
     "hsct for myasthenia success rate"),
])
def test_fragments_marked_at_either_end_follow_the_latest_question(history, message, understood):
    assert resolve(message, history, TABLE).understood_as == understood


def test_a_long_message_led_by_also_with_its_own_subject_is_a_new_question():
    history = ["pregnancy after hsct possible?", "how long should you wait"]
    resolution = resolve("also is it safe to get the flu jab after HSCT", history, TABLE)
    assert resolution.understood_as is None


def test_a_condition_alone_does_not_stop_a_follow_up_of_an_unknown_subject():
    resolution = resolve("which do they use for MS", ["myeloablative vs nonmyeloablative?"],
                         TABLE)
    assert resolution.understood_as == \
        "which do they use for MS (after: myeloablative vs nonmyeloablative?)"


def test_repeating_the_topic_s_own_condition_is_not_a_swap():
    # "the MS" is the topic's own condition: the message keeps its question (it used to be
    # swapped into "she is doing well (hsct for ms)", losing "can it come back")
    history = ["my mom had hsct for ms 2 years ago", "she is doing well"]
    resolution = resolve("can the ms come back after it", history, TABLE)
    assert resolution.understood_as == "can the ms come back after hsct"


@pytest.mark.parametrize("history, message, understood", [
    # a whole question about another condition, with "it" standing for the earlier subject
    (["What is aHSCT for MS?"], "is it approved for lupus?", "is aHSCT approved for lupus?"),
    # a whole question about another condition, with nothing standing for the earlier subject:
    # a new topic, not the old question with the condition swapped in
    (["does hsct help crohns"], "is there a stem cell treatment for type 1 diabetes in kids", None),
])
def test_a_whole_question_about_another_condition_is_not_a_swap(history, message, understood):
    assert resolve(message, history, TABLE).understood_as == understood


def test_a_follow_up_of_a_follow_up_reads_back_to_where_the_chat_started():
    history = ["what tests do they do before transplant", "like heart and lung?"]
    resolution = resolve("dental too?", history, TABLE)
    assert resolution.understood_as == \
        "dental too? (after: what tests do they do before transplant like heart and lung?)"


def test_a_separate_thing_is_an_announced_change_of_subject():
    message = ("separate thing, my husband has myasthenia, is thymectomy still done or is it "
               "stem cells now?")
    resolution = resolve(message, ["islet transplant for t1d"], TABLE)
    assert resolution.understood_as is None and resolution.text == message
