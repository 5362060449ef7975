"""Follow-up questions in a chat, without a language model and without storing anything.

The browser sends the earlier user messages of the conversation with each new one. A message
that names no topic of its own — "is it safe?", "how long does that take", "and for RA?",
"the cost?" — is read as a follow-up: it inherits the topic (the conditions, treatments,
procedures, drugs, trials and products of the concept table) of the most recent earlier message
that had one, each earlier message itself resolved the same way first. A message that names a
treatment or another main topic of its own starts a new topic and is used as typed.

How a follow-up is rewritten (the result is what retrieval searches, and what the reply shows as
"Answering: …"):
* a referring expression ("it", "that", "this treatment", "the trial") is replaced by the topic:
  "is it safe?" → "is aHSCT for MS safe?";
* a fragment that names a concept of a kind the topic already has swaps it in the earlier
  question: "what is aHSCT for MS?" + "and for RA?" → "what is aHSCT for RA?";
* any other fragment gets the topic added: "side effects?" → "side effects? (aHSCT for MS)".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from qa.retrieval.synonyms import Mention, SynonymTable
from qa.text import fold

# Kinds that make a question's subject: naming one starts a new topic. Conditions, populations
# and general topics ("cost", "children") alone do not: "and for lupus?" still asks about the
# earlier treatment.
SUBJECT_KINDS = frozenset({"treatment", "procedure", "drug", "trial", "product"})
CARRIED_KINDS = SUBJECT_KINDS | {"condition"}
# "the trial", "this treatment", "it", "that"... — a referring expression stands for the topic.
_NOUNS = (r"treatment|therapy|procedure|transplant|transplantation|trial|study|drug|medicine|"
          r"medication|infusion|injection|option|approach|operation|product|one")
_REFERRING = re.compile(
    rf"\b(?:(?:this|that|these|those|the|such an?|such) (?:{_NOUNS})s?|it|its|it's|they|them|"
    rf"their|this|that|these|those)\b")
_LEADING = re.compile(r"^(?:and|or|but|also|so|ok|okay|what about|how about|what if|same|"
                      r"and what about|and how about|what of|plus)\b[\s,]*")
FRAGMENT_WORDS = 5  # a message this short, with no subject of its own, is a fragment


@dataclass(frozen=True)
class Resolution:
    """How a message is understood: `text` is what retrieval reads; `understood_as` is that
    text when it differs from the message, else None."""

    text: str
    understood_as: str | None
    topic: tuple[Mention, ...]


def resolve(message: str, history: Sequence[str], table: SynonymTable) -> Resolution:
    """The message, rewritten as a follow-up when it is one (see the module docstring)."""
    topic: tuple[Mention, ...] = ()
    antecedent = ""
    for earlier in history:
        resolved = _resolve_one(earlier, antecedent, topic, table)
        if resolved.topic:
            antecedent, topic = resolved.text, resolved.topic
    return _resolve_one(message, antecedent, topic, table)


def _resolve_one(message: str, antecedent: str, topic: tuple[Mention, ...],
                 table: SynonymTable) -> Resolution:
    own = tuple(m for m in table.mentions(message) if m.kind in CARRIED_KINDS)
    as_typed = Resolution(message, None, own)
    if not topic:
        return as_typed
    folded = fold(message)
    names_subject = any(m.kind in SUBJECT_KINDS for m in own)
    referring = _REFERRING.search(folded)
    short = len(folded.split()) <= FRAGMENT_WORDS or bool(_LEADING.match(folded))
    if names_subject and not (short and _LEADING.match(folded)):
        return as_typed  # a new subject: a new topic
    if referring is None and not short:
        return as_typed  # a full question about something the concept table does not know
    own_kinds = {m.kind for m in own}
    inherited = tuple(m for m in topic if m.kind not in own_kinds)
    merged = tuple(sorted(own + inherited, key=lambda m: CARRIED_ORDER.get(m.kind, 9)))
    if referring is not None and not names_subject:
        phrase = _phrase(inherited)
        text = _replace(message, referring, phrase)
    elif own and antecedent and own_kinds & {m.kind for m in topic}:
        text = _swap(antecedent, topic, own)
    else:
        fragment = message.strip()
        text = f"{fragment} ({_phrase(inherited)})"
    return Resolution(text, text if text != message else None, merged)


CARRIED_ORDER = {"treatment": 0, "procedure": 0, "product": 0, "drug": 1, "trial": 2,
                 "condition": 3}


def _phrase(mentions: Sequence[Mention]) -> str:
    """"aHSCT for MS": subjects first, then "for" and the conditions, in the user's words."""
    subjects = [m.surface for m in mentions if m.kind in SUBJECT_KINDS]
    conditions = [m.surface for m in mentions if m.kind == "condition"]
    if subjects and conditions:
        return f"{' and '.join(subjects)} for {' and '.join(conditions)}"
    return " and ".join(subjects or conditions)


def _replace(message: str, referring: re.Match[str], phrase: str) -> str:
    """Put the topic where the referring expression was (offsets are the same after folding a
    normalised message, which only changes case and apostrophes)."""
    if len(fold(message)) != len(message):
        message = fold(message)
    start, end = referring.span()
    said = referring.group(0)
    words = said.split()
    if len(words) > 1 and words[-1] not in ("it", "its"):
        replacement = f"{said} of {phrase}"  # "the trial" → "the trial of CAR-T for MG"
    elif said in ("its", "their"):
        replacement = f"{phrase}'s"
    else:
        replacement = phrase
    return message[:start] + replacement + message[end:]


def _swap(antecedent: str, topic: Sequence[Mention], own: Sequence[Mention]) -> str:
    """The earlier question with the concepts of the kinds the new message names swapped in."""
    text = antecedent if len(fold(antecedent)) == len(antecedent) else fold(antecedent)
    replacements = {m.kind: m.surface for m in own}
    for mention in sorted(topic, key=lambda m: -m.start):
        if mention.kind in replacements:
            new = replacements.pop(mention.kind)
            text = text[:mention.start] + new + text[mention.end:]
    extra = " ".join(replacements.values())
    return f"{text} {extra}".strip() if extra else text
