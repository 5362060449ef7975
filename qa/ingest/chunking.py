"""Document → Passages: structure-aware, never splitting a sentence, promotional text dropped.

A passage stays inside one section (the nearest heading), packs whole sentences to about
`min_words`–`max_words`, repeats `overlap_sentences` between neighbours, and never spans a sentence
the boilerplate filter dropped — so a call to action can neither become nor end a passage.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from itertools import groupby

import blingfire

from qa.domain import Document, Passage
from qa.ingest.boilerplate import BoilerplateFilter
from qa.settings import setting_default


@dataclass(frozen=True)
class ChunkingConfig:
    min_words: int = setting_default("chunk_min_words")
    max_words: int = setting_default("chunk_max_words")
    overlap_sentences: int = setting_default("chunk_overlap_sentences")


@dataclass(frozen=True)
class _Sentence:
    start: int
    end: int
    words: int


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence boundaries (absolute offsets) inside text[start:end], via blingfire's splitter."""
    end = len(text) if end is None else end
    segment = text[start:end]
    if not segment.strip():
        return []
    _, offsets = blingfire.text_to_sentences_and_offsets(segment)
    spans = []
    for a, b in offsets:
        while a < b and segment[a].isspace():
            a += 1
        while b > a and segment[b - 1].isspace():
            b -= 1
        if b > a:
            spans.append((start + a, start + b))
    return spans


def chunk_document(
    doc: Document, config: ChunkingConfig, boilerplate: BoilerplateFilter
) -> tuple[list[Passage], int]:
    """Cut a document into passages; also return how many boilerplate sentences were dropped."""
    passages: list[Passage] = []
    dropped = 0
    for section, blocks in groupby(doc.blocks, key=lambda b: b.section):
        run: list[_Sentence] = []
        for block in blocks:
            for a, b in sentence_spans(doc.text, block.start, block.end):
                if boilerplate.matches(doc.text[a:b]):
                    dropped += 1
                    passages.extend(_pack(doc, section, run, config))
                    run = []
                else:
                    run.append(_Sentence(a, b, len(doc.text[a:b].split())))
        passages.extend(_pack(doc, section, run, config))
    return passages, dropped


def _pack(doc: Document, section: str, run: list[_Sentence], config: ChunkingConfig) -> list[Passage]:
    if not run:
        return []
    total = sum(s.words for s in run)
    parts = max(1, math.ceil(total / max(config.min_words, (config.min_words + config.max_words) // 2)))
    if total <= config.max_words:
        parts = 1
    target = total / parts
    groups: list[list[_Sentence]] = []
    current: list[_Sentence] = []
    words = 0
    for sentence in run:
        if current and (words + sentence.words > config.max_words or words >= target):
            groups.append(current)
            overlap = current[-config.overlap_sentences:] if config.overlap_sentences else []
            if len(overlap) >= len(current) or \
                    sum(s.words for s in overlap) + sentence.words > config.max_words:
                overlap = []
            current, words = list(overlap), sum(s.words for s in overlap)
        current.append(sentence)
        words += sentence.words
    if current:
        groups.append(current)
    if len(groups) > 1 and sum(s.words for s in groups[-1]) < config.min_words:
        groups[-2:] = _rebalance(groups[-2], groups[-1], config)
    return [_passage(doc, section, group) for group in groups]


def _rebalance(previous: list[_Sentence], tail: list[_Sentence],
               config: ChunkingConfig) -> list[list[_Sentence]]:
    """A short tail joins its predecessor, or the two are re-split evenly (keeping the overlap)."""
    merged = previous + [s for s in tail if s not in previous]
    total = sum(s.words for s in merged)
    if total <= config.max_words:
        return [merged]
    first: list[_Sentence] = []
    words = 0
    for sentence in merged:
        if first and words + sentence.words > total / 2:
            break
        first.append(sentence)
        words += sentence.words
    overlap = first[-config.overlap_sentences:] if config.overlap_sentences else []
    second = merged[len(first):]
    if overlap and sum(s.words for s in overlap + second) <= config.max_words:
        second = overlap + second
    return [first, second]


def _passage(doc: Document, section: str, group: list[_Sentence]) -> Passage:
    start, end = group[0].start, group[-1].end
    text = doc.text[start:end]
    digest = hashlib.sha256(f"{doc.id}\0{section}\0{text}".encode()).hexdigest()[:16]
    return Passage(
        id=digest,
        document_id=doc.id,
        title=doc.title,
        section=section or doc.title,
        text=text,
        start=start,
        end=end,
        sentences=tuple((s.start - start, s.end - start) for s in group),
        urls=tuple(s.url for s in doc.sources if s.url),
        source_names=tuple(s.name for s in doc.sources),
        reviewed=doc.reviewed,
        topics=doc.topics,
        evidence=doc.evidence,
    )
