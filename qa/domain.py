"""The shared vocabulary: frozen dataclasses every stage passes along, from files to answers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

AnswerKind = Literal["answer", "no_answer", "out_of_scope", "emergency"]


@dataclass(frozen=True)
class Source:
    """A public source a document's facts come from."""

    name: str
    url: str = ""
    year: int | None = None


@dataclass(frozen=True)
class Block:
    """A paragraph-like span of a document body, under the nearest heading."""

    start: int
    end: int
    section: str


@dataclass(frozen=True)
class Document:
    """One corpus document; `text` is the body that passage offsets point into."""

    id: str
    title: str
    text: str
    path: str
    blocks: tuple[Block, ...]
    sources: tuple[Source, ...] = ()
    reviewed: str | None = None
    topics: tuple[str, ...] = ()
    evidence: str | None = None
    summary: str | None = None
    next_review: str | None = None  # when its time-bound facts are due to be checked again

    @property
    def url(self) -> str:
        """The first source URL, shown as the quote's link."""
        return next((s.url for s in self.sources if s.url), "")


@dataclass(frozen=True)
class Passage:
    """A quotable span of a document, with its provenance and sentence boundaries."""

    id: str
    document_id: str
    title: str
    section: str
    text: str
    start: int
    end: int
    sentences: tuple[tuple[int, int], ...]  # sentence spans relative to `text`
    urls: tuple[str, ...] = ()
    source_names: tuple[str, ...] = ()
    reviewed: str | None = None
    topics: tuple[str, ...] = ()
    evidence: str | None = None

    def embedding_text(self) -> str:
        """What is embedded and indexed: title and section give a passage its context."""
        parts = [self.title]
        if self.section and self.section != self.title:
            parts.append(self.section)
        parts.append(self.text)
        return "\n".join(parts)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["sentences"] = [list(span) for span in self.sentences]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Passage:
        return cls(
            id=data["id"],
            document_id=data["document_id"],
            title=data["title"],
            section=data["section"],
            text=data["text"],
            start=data["start"],
            end=data["end"],
            sentences=tuple((int(a), int(b)) for a, b in data["sentences"]),
            urls=tuple(data.get("urls", ())),
            source_names=tuple(data.get("source_names", ())),
            reviewed=data.get("reviewed"),
            topics=tuple(data.get("topics", ())),
            evidence=data.get("evidence"),
        )


@dataclass(frozen=True)
class Hit:
    """A retrieved passage with its fused rank score and its cosine similarity to the question."""

    passage: Passage
    row: int
    fused: float
    similarity: float


@dataclass(frozen=True)
class QuoteSource:
    document_id: str
    title: str
    section: str
    url: str
    reviewed: str | None
    evidence: str | None = None


@dataclass(frozen=True)
class Quote:
    """Verbatim passage text, the best-matching sentence ranges, and where it comes from."""

    passage_id: str
    text: str
    highlights: tuple[tuple[int, int], ...]
    score: float
    source: QuoteSource
    topics: tuple[str, ...] = ()  # the passage's topic tags, for the disclaimer policy


@dataclass(frozen=True)
class Disclaimer:
    code: str
    text: str


@dataclass(frozen=True)
class Triage:
    """Why a message was routed the way it was; `reason` names the red flag, lexicon entry or
    classifier scores that decided, so an operator can read one line and see why."""

    category: str = "general"
    reason: str = "no safety rule matched"
    flags: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()  # details for the reply wording, e.g. "self_harm", "transplant"
    # How sure the classifier is that the message is off topic: the engine lets the library's
    # evidence overturn an off-topic reading only when the classifier is not sure of it.
    off_topic: float = 0.0


@dataclass(frozen=True)
class Correction:
    """A word of the question that retrieval read differently (a spelling correction)."""

    typed: str
    corrected: str


@dataclass(frozen=True)
class Answer:
    """Everything a reply holds; the CLI and the API serialise exactly this.

    `understood_as` is the question retrieval answered when it differs from the message as
    typed (a follow-up with its topic filled in, spelling corrected), else None; `corrections`
    lists the corrected words."""

    kind: AnswerKind
    message: str
    quotes: tuple[Quote, ...] = ()
    disclaimers: tuple[Disclaimer, ...] = ()
    flags: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    triage: Triage = field(default_factory=Triage)
    took_ms: float = 0.0
    understood_as: str | None = None
    corrections: tuple[Correction, ...] = ()
    concepts: tuple[str, ...] = ()  # what the question named, from the concept table

    def to_json(self) -> dict[str, Any]:
        """The public JSON shape (lists, not tuples; highlights as [start, end] pairs)."""
        return {
            "kind": self.kind,
            "message": self.message,
            "quotes": [
                {
                    "passage_id": q.passage_id,
                    "text": q.text,
                    "highlights": [list(h) for h in q.highlights],
                    "score": round(q.score, 4),
                    "source": asdict(q.source),
                }
                for q in self.quotes
            ],
            "disclaimers": [asdict(d) for d in self.disclaimers],
            "flags": list(self.flags),
            "related": list(self.related),
            "triage": {"category": self.triage.category, "reason": self.triage.reason},
            "understood_as": self.understood_as,
            "corrections": [{"from": c.typed, "to": c.corrected} for c in self.corrections],
            "concepts": list(self.concepts),
            "took_ms": round(self.took_ms, 2),
        }
