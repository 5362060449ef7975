"""Document cards: one vector per document, from its title and summary.

Why: passages are ranked one by one, and a broad document (an overview of aHSCT for MS, a
society's recommendations) has some passage close to almost any MS question, so a question
asking about one aspect of MS (who qualifies, the hospital stay, the cost) was often answered
from the broad documents rather than from the one written for that aspect. A curator's title
and summary say what a whole document is for; ranking documents by them and fusing that
ranking into the passage ranking lets the document written for the question win more often
(measured in docs/design.md).

A card's row is the document's number in the row facts (order of first appearance among the
passages), so the retriever finds a passage's card without a lookup table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from qa.domain import Passage

VECTORS = "document_vectors.npy"


def card_text(title: str, summary: str | None) -> str:
    """What a document's card embeds: its title, and its summary when it has one."""
    return f"{title}\n{summary}" if summary else title


def card_texts(passages: Iterable[Passage], card_of: Mapping[str, str]) -> list[str]:
    """One card text per document that has passages, in order of first appearance (the row
    facts' document numbers); a document without a card in `card_of` is carded by its title."""
    texts: list[str] = []
    seen: set[str] = set()
    for passage in passages:
        if passage.document_id not in seen:
            seen.add(passage.document_id)
            texts.append(card_of.get(passage.document_id) or passage.title)
    return texts
