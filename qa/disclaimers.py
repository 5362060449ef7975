"""The wording of replies that are not quotes: disclaimers, and the fixed messages per answer kind.

Kept apart from retrieval so the policy can be reviewed (and extended by the safety triage) in one
place. No medical content is generated: these are fixed, reviewed sentences.
"""

from __future__ import annotations

from collections.abc import Sequence

from qa.documents import Disclaimer, Quote, Triage

GENERAL = Disclaimer(
    "general",
    "This is general information quoted from published sources, not medical advice. "
    "Talk to your own specialist before making any decision about treatment.",
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


class DisclaimerPolicy:
    """Decides which disclaimers and fixed messages a reply carries."""

    def __init__(self, emergency_number: str = "911", crisis_line: str = "988",
                 operator_name: str = "") -> None:
        self.emergency_number = emergency_number
        self.crisis_line = crisis_line
        self.operator_name = operator_name

    def emergency_message(self, triage: Triage) -> str:
        return (f"This may be an emergency. Call {self.emergency_number} or your local emergency "
                "number now.")

    def scope_message(self) -> str:
        return SCOPE_MESSAGE

    def no_answer_message(self) -> str:
        return NO_ANSWER_MESSAGE

    def answer_message(self) -> str:
        return ANSWER_MESSAGE

    def disclaimers(self, kind: str, triage: Triage, quotes: Sequence[Quote]) -> list[Disclaimer]:
        """The general disclaimer on every reply (extended by topic-specific ones)."""
        return [GENERAL]
