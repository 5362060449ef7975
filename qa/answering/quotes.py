"""Hits → Quotes: verbatim passage text, highlighted sentences, and the source to cite."""

from __future__ import annotations

from collections.abc import Sequence

from qa.domain import Hit, Quote, QuoteSource
from qa.answering.highlight import highlight


def compose_quotes(hits: Sequence[Hit], query_terms: set[str]) -> list[Quote]:
    """One quote per hit, in rank order; the text is exactly the passage, never edited."""
    quotes = []
    for hit in hits:
        p = hit.passage
        quotes.append(Quote(
            passage_id=p.id,
            text=p.text,
            highlights=highlight(p, query_terms),
            score=hit.similarity,
            source=QuoteSource(document_id=p.document_id, title=p.title, section=p.section,
                               url=p.urls[0] if p.urls else "", reviewed=p.reviewed,
                               evidence=p.evidence),
            topics=p.topics,
        ))
    return quotes


def related_prompts(shown: Sequence[Hit], rest: Sequence[Hit], limit: int = 3) -> list[str]:
    """Follow-up prompts: headings of the next-best sections the answer did not quote."""
    used = {(h.passage.document_id, h.passage.section) for h in shown}
    prompts: list[str] = []
    for hit in rest:
        key = (hit.passage.document_id, hit.passage.section)
        section = hit.passage.section
        if key in used or section in prompts or section == hit.passage.title and section in prompts:
            continue
        used.add(key)
        prompts.append(section)
        if len(prompts) >= limit:
            break
    return prompts
