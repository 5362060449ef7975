"""Follow-up questions in a chat, without a language model and without storing anything.

The browser sends the earlier user messages of the conversation with each new one. A message
that names no subject of its own — "is it safe?", "how long does that take", "and for RA?",
"the cost?" — is read as a follow-up of the latest earlier message that had a topic (the
treatments, procedures, drugs, trials, products and conditions of the concept table), each
earlier message itself resolved the same way first. A message that names a treatment or another
subject of its own starts a new topic, searched with the condition a person named, which stays
with the conversation until they name another ("I have MS" … "what about CAR-T?" → "what about
CAR-T? (MS)" … "is it safe?"). A message that announces a change of subject ("unrelated, but
…", "another question: …") carries nothing. When no earlier message names anything the concept
table knows ("what is EBV reactivation?" … "is it dangerous?"), a follow-up is read with the
latest earlier message that says something, and with the ones before it when that message leans
on them too ("what tests come before a transplant?" … "like heart and lung?" … "dental too?").

Two texts come out of a follow-up:
* `understood_as`, shown to the person ("Answering: …"): "it", "its" or a noun phrase such as "the
  trial" or "this treatment" is replaced by the topic ("is it safe?" → "is aHSCT for MS safe?");
  a fragment — a few words, counted without a marker at either end ("and …", "for …", "vs …",
  "… as well?", "… too?") — naming another concept of a kind the earlier question had, with no
  "it" of its own, swaps it into the latest earlier question as understood ("what is aHSCT for
  MS?" + "and for RA?" → "what is aHSCT for RA?"); a marked message with a subject of its own
  stays a follow-up only when it is that short, so "also, is it safe to get the flu jab after
  HSCT" is a new question. A whole question about
  another condition starts a new topic unless "it" stands for the earlier subject ("is it
  approved for lupus?" → "is aHSCT approved for lupus?"); naming the topic's own condition again
  ("can the MS come back after it?") is no change at all. Anything else gets the topic added
  ("is that a normal price? (stem cells for MS)"). Bare "they", "that" or "these" often mean
  something other than the topic (the doctors, a price), so they are never replaced.
* `text`, what retrieval searches: the same, plus the earlier question it follows (except for a
  swap, which already is the whole question), so what that question asked about — the cost, the
  mortality, the hospital stay — is searched too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from qa.retrieval.synonyms import Mention, SynonymTable
from qa.text import fold

# Kinds that make a question's subject: naming one starts a new topic. Conditions and general
# topics ("cost", "children") alone do not: "and for lupus?" still asks about the earlier
# treatment.
SUBJECT_KINDS = frozenset({"treatment", "procedure", "drug", "trial", "product"})
CARRIED_KINDS = SUBJECT_KINDS | {"condition"}
CARRIED_ORDER = {"treatment": 0, "procedure": 0, "product": 0, "drug": 1, "trial": 2,
                 "condition": 3}
_NOUNS = (r"treatment|therapy|procedure|transplant|transplantation|trial|study|drug|medicine|"
          r"medication|infusion|injection|option|approach|operation|product|cells?|injections")
# What stands for the topic and may be replaced by it.
_REPLACEABLE = re.compile(rf"\b(?:(?:the|this|that|these|those|such an?|such) (?:{_NOUNS})s?|"
                          rf"it's|its|it)\b(?!')")
# What marks a message as leaning on an earlier one without standing for the topic itself.
_LEANING = re.compile(r"\b(?:they|them|their|this|that|these|those|there|ones?)\b")
_LEADING = re.compile(r"^(?:and|or|but|also|so|ok|okay|what about|how about|what if|same|"
                      r"and what about|and how about|what of|plus|vs|versus|compared to|"
                      r"compared with|for)\b[\s,]*")
# ... or at its end: "MSCs as well?", "for lupus too?".
_TRAILING = re.compile(r"\b(?:as well|too|also)\W*$")
FRAGMENT_WORDS = 5  # a message this short, with no subject of its own, is a fragment
SAYS_SOMETHING_WORDS = 3  # an earlier message shorter than this ("thanks", "ok") sets no context
# What announces a new subject, whatever follows ("unrelated, but ...", "another question: ...").
_SWITCH = re.compile(r"\b(?:unrelated|(?:different|separate) (?:topic|thing|question|subject)|"
                     r"another (?:topic|thing|question|subject)|new (?:topic|question|subject)|"
                     r"other (?:topic|question|subject)|change of (?:topic|subject)|"
                     r"changing (?:the )?subject|on another note|new q|another q|different q)\b")


@dataclass(frozen=True)
class Resolution:
    """How a message is understood: `text` is what retrieval reads; `understood_as` is what the
    reply shows when it differs from the message, else None; `topic` carries on."""

    text: str
    understood_as: str | None
    topic: tuple[Mention, ...]


def resolve(message: str, history: Sequence[str], table: SynonymTable) -> Resolution:
    """The message, rewritten as a follow-up when it is one (see the module docstring)."""
    topic: tuple[Mention, ...] = ()
    since: list[str] = []  # the messages from the latest one that named its own topic
    latest = ""  # the latest earlier question with a topic, as understood (what a swap edits)
    for earlier in history:
        resolved = _resolve_one(earlier, " ".join(since), topic, table, latest)
        if resolved.understood_as is None and resolved.topic:
            since = [earlier]  # a topic of its own: the conversation restarts here
        elif since:
            since.append(earlier)
        if resolved.topic:
            topic = resolved.topic
            latest = resolved.understood_as or earlier
    if not topic:
        return _without_concepts(message, history, table)
    return _resolve_one(message, " ".join(since), topic, table, latest)


def _without_concepts(message: str, history: Sequence[str], table: SynonymTable) -> Resolution:
    """A chat whose earlier messages name nothing the concept table knows ("what is EBV
    reactivation?" … "is it dangerous?"): a follow-up is read with the latest earlier message
    that says something, shown in brackets."""
    as_typed = Resolution(message, None, ())
    said = [h for h in history if len(fold(h).split()) >= SAYS_SOMETHING_WORDS]
    own = [m for m in table.mentions(message) if m.kind in SUBJECT_KINDS]
    folded = fold(message)
    if not said or own or _SWITCH.search(folded) or not _leans(folded):
        return as_typed
    # The latest message may itself lean on the one before ("what tests come before a
    # transplant?" … "like heart and lung?" … "dental too?"): go back to where it started.
    start = len(said) - 1
    while start > 0 and _leans(fold(said[start])):
        start -= 1
    understood = f"{message.strip()} (after: {' '.join(h.strip() for h in said[start:])})"
    return Resolution(understood, understood, ())


def _fragment(folded: str) -> tuple[bool, bool]:
    """Whether a message is marked as a fragment at either end ("and for RA?", "MSCs as
    well?"), and whether it is a few words long, counted without its leading marker ("and for
    RA?" is one word long, "also is it safe to get the flu jab after HSCT" eight)."""
    leading = _LEADING.match(folded)
    marked = bool(leading or _TRAILING.search(folded))
    words = folded[leading.end():].split() if leading else folded.split()
    return marked, len(words) <= FRAGMENT_WORDS


def _leans(folded: str) -> bool:
    """Whether a message leans on an earlier one: it refers back, or is a fragment."""
    return bool(_REPLACEABLE.search(folded) or _LEANING.search(folded)) or any(_fragment(folded))


def _resolve_one(message: str, antecedent: str, topic: tuple[Mention, ...],
                 table: SynonymTable, latest: str = "") -> Resolution:
    own = tuple(m for m in table.mentions(message) if m.kind in CARRIED_KINDS)
    own_kinds = {m.kind for m in own}
    names_subject = bool(own_kinds & SUBJECT_KINDS)
    # The condition a person named carries on, even into a new subject.
    kept = tuple(m for m in topic if m.kind == "condition" and "condition" not in own_kinds)
    as_typed = Resolution(message, None, _ordered(own + (kept if names_subject else ())))
    if not topic:
        return as_typed
    folded = fold(message)
    if _SWITCH.search(folded):
        return Resolution(message, None, own)  # announced as a new subject: nothing carried
    marked, fragment = _fragment(folded)
    replaceable = _REPLACEABLE.search(folded)
    if names_subject and not (fragment and marked):
        # A new subject: a new topic, searched with the condition the person named before
        # ("my brother has myasthenia" … "would a stem cell transplant stop these crises?").
        if not kept:
            return as_typed
        understood = f"{message.strip()} ({_phrase(kept)})"
        return Resolution(understood, understood, as_typed.topic)
    if not _leans(folded):
        return as_typed  # a full question about something the concept table does not know
    inherited = tuple(m for m in topic if m.kind not in own_kinds)
    merged = _ordered(own + inherited)
    if _changes(own, topic):
        if fragment and replaceable is None:
            understood = _swap(latest or antecedent, table, own)
            return Resolution(understood, understood, merged)
        # A whole question about another condition is a new topic, unless "it" or "this
        # treatment" stands for the earlier subject ("is it approved for lupus?").
        inherited = tuple(m for m in inherited if m.kind in SUBJECT_KINDS) if replaceable else ()
    if not inherited:
        return Resolution(message, None, merged if replaceable else own)
    if replaceable is not None and not names_subject:
        understood = _replace(message, replaceable, _phrase(inherited))
    else:
        understood = f"{message.strip()} ({_phrase(inherited)})"
    return Resolution(f"{understood} {antecedent}".strip(), understood, merged)


def _changes(own: Sequence[Mention], topic: Sequence[Mention]) -> bool:
    """Whether the message names another concept of a kind the topic has ("and for RA?" after
    aHSCT for MS), rather than repeating the topic's own ("can the MS come back after it?")."""
    carried = {m.kind: m.concept for m in topic}
    return any(m.kind in carried and carried[m.kind] != m.concept for m in own)


def _ordered(mentions: Sequence[Mention]) -> tuple[Mention, ...]:
    return tuple(sorted(mentions, key=lambda m: CARRIED_ORDER.get(m.kind, 9)))


def _phrase(mentions: Sequence[Mention]) -> str:
    """"aHSCT for MS": subjects first, then "for" and the conditions, in the user's words."""
    subjects = [m.surface for m in mentions if m.kind in SUBJECT_KINDS]
    conditions = [m.surface for m in mentions if m.kind == "condition"]
    if subjects and conditions:
        return f"{' and '.join(subjects)} for {' and '.join(conditions)}"
    return " and ".join(subjects or conditions)


def _replace(message: str, found: re.Match[str], phrase: str) -> str:
    """Put the topic where the expression that stands for it was (offsets are the same after
    folding a normalised message, which only changes case and apostrophes)."""
    if len(fold(message)) != len(message):
        message = fold(message)
    start, end = found.span()
    said = found.group(0)
    if said in ("its", "it's"):
        replacement = f"{phrase}'s" if said == "its" else f"{phrase} is"
    elif said == "it":
        replacement = phrase
    else:
        replacement = f"{message[start:end]} of {phrase}"  # "the trial" → "the trial of CAR-T"
    return message[:start] + replacement + message[end:]


def _swap(question: str, table: SynonymTable, own: Sequence[Mention]) -> str:
    """The earlier question with the concepts of the kinds the new message names swapped in
    ("what is aHSCT for MS?" + "and for RA?" → "what is aHSCT for RA?"); a kind the question
    does not name is added at its end."""
    text = question if len(fold(question)) == len(question) else fold(question)
    replacements = {m.kind: m.surface for m in own}
    for mention in sorted(table.mentions(text), key=lambda m: -m.start):
        if mention.kind in replacements:
            text = text[:mention.start] + replacements.pop(mention.kind) + text[mention.end:]
    extra = " ".join(replacements.values())
    return f"{text} {extra}".strip() if extra else text
