"""The wording of replies that are not quotes: disclaimers, and the fixed messages per answer kind.

Kept apart from retrieval so the policy can be reviewed in one place (docs/safety.md describes it).
No medical content is generated: these are fixed, reviewed sentences, filled in only with
deployment settings (emergency number, crisis line, transplant line, operator) and source titles.

Which disclaimers a reply carries:
- every reply: the general one first, and the operator disclosure when an operator is configured;
- from the triage (any reply that is not an emergency or out of scope): personal decisions, and
  unproven-clinic red flags;
- from the quoted passages' metadata: experimental / trial-only treatments, high-dose chemotherapy
  risks, red flags (a quote from a red-flags document), and older sources.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from functools import lru_cache


from qa.domain import Disclaimer, Quote, Triage
from qa.settings import PACKAGE_DATA, Settings
from qa.yaml_data import load_yaml

GENERAL = Disclaimer(
    "general",
    "This is general information quoted from published sources, not medical advice. "
    "Talk to your own specialist before making any decision about treatment.",
)
PERSONAL_ADVICE = Disclaimer(
    "personal_advice",
    "Your question is about a decision for you or someone in your care (a dose, starting or "
    "stopping a medicine, eligibility, a choice between treatments, pregnancy or a child's "
    "treatment). Only a specialist who knows the person's history can advise on that. The quotes "
    "below are general information to help you prepare questions for them.",
)
UNPROVEN_CLINIC = Disclaimer(
    "unproven_clinic",
    "Be cautious about clinics that sell stem cell treatments directly to patients. Warning signs "
    "include claims to treat many unrelated diseases, patient stories in place of published "
    "results, large up-front payments, travel packages, and no involvement of your own doctors. "
    "A genuine clinical trial is registered, approved by an ethics committee, and usually does "
    "not charge people to take part.",
)
EXPERIMENTAL = Disclaimer(
    "experimental",
    "Some treatments described here are experimental: for most autoimmune diseases they are "
    "offered only within registered clinical trials. What is approved differs between countries "
    "and changes over time.",
)
CHEMOTHERAPY = Disclaimer(
    "chemotherapy",
    "Autologous haematopoietic stem cell transplantation uses high-dose chemotherapy, which "
    "carries serious risks, including severe infections, infertility, new autoimmune conditions "
    "and a small risk of death. Whether the possible benefit outweighs these risks can only be "
    "judged by a specialist transplant team.",
)

NO_ANSWER_MESSAGE = (
    "I could not find a passage in this library that answers that well. Try rephrasing with the "
    "condition or treatment named (for example \"aHSCT for multiple sclerosis\"), ask your "
    "specialist, or search registered trials at ClinicalTrials.gov or the WHO International "
    "Clinical Trials Registry Platform (trialsearch.who.int)."
)
ANSWER_MESSAGE = "Here is what the sources in this library say."
SCOPE_MESSAGE = (
    "I can only answer questions about stem-cell and other cell therapies for autoimmune diseases "
    "(such as multiple sclerosis, lupus, rheumatoid arthritis, type 1 diabetes, Crohn's disease and "
    "systemic sclerosis), their evidence, risks, trials and regulation."
)

# Quote metadata that selects a topic disclaimer (document topic tags, see the corpus brief).
EXPERIMENTAL_TOPICS = frozenset({"msc", "car-t", "islet-cells", "clinical-trials"})
CHEMOTHERAPY_TOPICS = frozenset({"ahsct"})
CHEMOTHERAPY_TEXT = re.compile(
    r"\b(high[- ]dose chemotherapy|conditioning (chemotherapy|regimen))\b", re.IGNORECASE)
RED_FLAG_TOPICS = frozenset({"red-flags"})
NO_QUOTE_KINDS = ("emergency", "out_of_scope")


@lru_cache(maxsize=4096)
def mentions_chemotherapy(text: str) -> bool:
    """Whether quoted text speaks of high-dose or conditioning chemotherapy. A case-insensitive
    regex over a whole passage cost about 14 µs, and the same passages are quoted again and
    again: a plain substring test first, and the verdict remembered (corpus text only)."""
    lowered = text.lower()
    # Only for ASCII text is lower() exactly what IGNORECASE matches (think of the Kelvin sign).
    if text.isascii() and "chemotherapy" not in lowered and "conditioning" not in lowered:
        return False
    return CHEMOTHERAPY_TEXT.search(text) is not None


class DisclaimerPolicy:
    """Decides which disclaimers and fixed messages a reply carries."""

    def __init__(self, emergency_number: str = "911", crisis_line: str = "988",
                 operator_name: str = "", *,
                 transplant_line: str = "your transplant team's 24-hour line",
                 operator_disclosure: str = "This assistant is provided by {operator}.",
                 source_max_age_days: int = 1095,
                 crisis_text: str | None = None, poison_line: str = "",
                 other_languages: Mapping[str, str] | None = None,
                 today: Callable[[], date] = date.today) -> None:
        self.emergency_number = emergency_number
        self.crisis_line = crisis_line
        self.crisis_text = crisis_text or f"call {crisis_line}"
        self.poison_line = poison_line
        self.other_languages = dict(other_languages or {})
        self.operator_name = operator_name
        self.transplant_line = transplant_line
        self.operator_disclosure = operator_disclosure
        self.source_max_age_days = source_max_age_days
        self.today = today

    @classmethod
    def from_settings(cls, settings: Settings) -> DisclaimerPolicy:
        numbers = settings.numbers()
        return cls(numbers.emergency, numbers.crisis, settings.operator_name,
                   transplant_line=settings.transplant_line_text,
                   operator_disclosure=settings.operator_disclosure,
                   source_max_age_days=settings.source_max_age_days,
                   crisis_text=numbers.crisis_text, poison_line=numbers.poison,
                   other_languages=other_language_replies())

    # --- fixed messages ----------------------------------------------------------------------
    def emergency_message(self, triage: Triage) -> str:
        """Short and calm: who to call now; nothing else competes with it."""
        call_now = f"call {self.emergency_number} or your local emergency number now"
        parts = []
        if "self_harm" in triage.tags:
            parts.append(
                "You don't have to go through this alone. If you are thinking about suicide or "
                "harming yourself, or someone near you is, please contact the crisis line now "
                f"({self.crisis_text}) to talk to someone. If anyone is in immediate danger, "
                f"{call_now}.")
        if "self_harm" not in triage.tags or "medical" in triage.tags:
            parts.append(f"This may be a medical emergency. Please {call_now}, or ask someone "
                         "near you to call.")
            if "poison" in triage.tags and self.poison_line:
                parts.append(f"For advice on a poisoning or an overdose, call the poison "
                             f"information line on {self.poison_line}, even if the person "
                             "seems well.")
            if "transplant" in triage.tags:
                parts.append("If you have had a stem cell transplant, chemotherapy or a cell "
                             f"infusion, also call {self.transplant_line}.")
            parts.append("Do not wait for an answer here.")
        return " ".join(parts)

    def urgent_message(self, triage: Triage) -> str:
        """For a question that may describe an emergency happening now ("is that normal?"):
        the emergency card first, then the quotes."""
        if "self_harm" in triage.tags:
            first = ("If you or someone near you is thinking about suicide or self-harm, please "
                     f"contact the crisis line now ({self.crisis_text}), or call "
                     f"{self.emergency_number} in an emergency.")
        else:
            line = f" or {self.transplant_line}" if "transplant" in triage.tags else ""
            first = (f"If this is happening now, call {self.emergency_number}{line} now; do not "
                     "wait for an answer here.")
        return f"{first} Below is general information from the library."

    def other_language_message(self, language: str) -> str:
        """The library is English only: said in the person's own language, with the numbers."""
        template = self.other_languages.get(language) or (
            "This assistant's library is in English only, so it cannot answer in your language. "
            "In an emergency call {emergency} now, or the crisis line {crisis}. A doctor or "
            "nurse can help with your questions in your own language.")
        return template.format(emergency=self.emergency_number, crisis=self.crisis_line)

    def scope_message(self) -> str:
        return SCOPE_MESSAGE

    def no_answer_message(self) -> str:
        return NO_ANSWER_MESSAGE

    def answer_message(self) -> str:
        return ANSWER_MESSAGE

    # --- disclaimers -------------------------------------------------------------------------
    def disclaimers(self, kind: str, triage: Triage, quotes: Sequence[Quote]) -> list[Disclaimer]:
        """The general disclaimer first, then the ones the triage and the quotes call for."""
        chosen = [GENERAL]
        if kind not in NO_QUOTE_KINDS:
            topics = {t for q in quotes for t in q.topics}
            if "personal_advice" in triage.flags:
                chosen.append(PERSONAL_ADVICE)
            if "unproven_clinic" in triage.flags or topics & RED_FLAG_TOPICS:
                chosen.append(UNPROVEN_CLINIC)
            if topics & EXPERIMENTAL_TOPICS:
                chosen.append(EXPERIMENTAL)
            if topics & CHEMOTHERAPY_TOPICS or any(mentions_chemotherapy(q.text) for q in quotes):
                chosen.append(CHEMOTHERAPY)
            older = self.older_sources(quotes)
            if older:
                chosen.append(older)
        if self.operator_name:
            chosen.append(Disclaimer("operator", self.operator_disclosure.replace(
                "{operator}", self.operator_name)))
        return chosen

    def older_sources(self, quotes: Sequence[Quote]) -> Disclaimer | None:
        """One disclaimer naming the quoted documents reviewed too long ago (or never dated)."""
        today = self.today()
        titles: list[str] = []
        for quote in quotes:
            reviewed = _parse_date(quote.source.reviewed)
            too_old = reviewed is None or (today - reviewed).days > self.source_max_age_days
            if too_old and quote.source.title not in titles:
                titles.append(quote.source.title)
        if not titles:
            return None
        return Disclaimer(
            "older_source",
            f"Some quoted sources were last reviewed more than {_age(self.source_max_age_days)} "
            f"ago, or carry no review date ({'; '.join(titles)}). Newer evidence or changes in "
            "approval may exist; check with your specialist.")


@lru_cache(maxsize=1)
def other_language_replies() -> dict[str, str]:
    """qa/data/unsupported_language.yaml: the English-only notice in other languages."""
    data = load_yaml((PACKAGE_DATA / "unsupported_language.yaml").read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in (data.get("replies") or {}).items()}


def _parse_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _age(days: int) -> str:
    if days % 365 == 0:
        years = days // 365
        return f"{years} year{'s' if years != 1 else ''}"
    return f"{days} days"
