"""What ranking needs to know about every row (passage) of an index, kept as arrays.

Diversification caps passages per document, the provenance prior down-weights passages whose
document has no review date, and clinic-seeking questions pull in the passages of a few topics.
The builder writes these facts beside the index, so loading does not decode every passage to
find them (seconds at a million passages), and the arrays are memory-mapped, so the workers of
one machine share their pages instead of each holding a set of a million Python ints.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.domain import Passage

ROW_DOCUMENTS = "row_documents.npy"
ROW_REVIEWED = "row_reviewed.npy"
TOPIC_ROWS = "topic_rows.json"
FILES = (ROW_DOCUMENTS, ROW_REVIEWED, TOPIC_ROWS)


@dataclass(frozen=True)
class RowFacts:
    documents: np.ndarray  # int32: a number per document, in order of first appearance
    reviewed: np.ndarray  # bool: whether the row's document carries a review date
    topics: dict[str, np.ndarray]  # topic -> the rows tagged with it (int64, ascending)

    def __len__(self) -> int:
        return len(self.documents)

    @classmethod
    def of(cls, passages: Iterable[Passage], count: int) -> RowFacts:
        """The facts of `count` passages, in one pass (what a build stores)."""
        documents = np.empty(count, dtype=np.int32)
        reviewed = np.empty(count, dtype=bool)
        numbers: dict[str, int] = {}
        topics: dict[str, list[int]] = {}
        for row, passage in enumerate(passages):
            documents[row] = numbers.setdefault(passage.document_id, len(numbers))
            reviewed[row] = bool(passage.reviewed)
            for topic in passage.topics:
                topics.setdefault(topic, []).append(row)
        return cls(documents, reviewed,
                   {t: np.asarray(rows, dtype=np.int64) for t, rows in topics.items()})

    def save(self, directory: Path) -> None:
        np.save(directory / ROW_DOCUMENTS, self.documents)
        np.save(directory / ROW_REVIEWED, self.reviewed)
        (directory / TOPIC_ROWS).write_text(
            json.dumps({t: rows.tolist() for t, rows in sorted(self.topics.items())}),
            encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> RowFacts:
        """The stored facts (memory-mapped); a missing file raises OSError."""
        topics = json.loads((directory / TOPIC_ROWS).read_text(encoding="utf-8"))
        if not isinstance(topics, dict):
            raise ValueError(f"{TOPIC_ROWS} is not a JSON object")
        return cls(np.load(directory / ROW_DOCUMENTS, mmap_mode="r"),
                   np.load(directory / ROW_REVIEWED, mmap_mode="r"),
                   {str(t): np.asarray(rows, dtype=np.int64) for t, rows in topics.items()})

    def document_count(self) -> int:
        """How many documents the rows belong to (numbers run from 0 without gaps)."""
        return int(self.documents.max()) + 1 if len(self.documents) else 0

    def consistent_with(self, count: int) -> bool:
        """Every array describes exactly `count` rows, and every topic row is one of them."""
        return (self.documents.shape == (count,) and self.reviewed.shape == (count,)
                and self.documents.dtype == np.int32 and self.reviewed.dtype == bool
                and all(rows.size == 0 or (rows.min() >= 0 and rows.max() < count)
                        for rows in self.topics.values()))
