"""The passages of a build, read from its memory-mapped `passages.jsonl` when they are needed.

Why: held as Python objects, the passages were most of a worker's private index memory, a copy
in every worker, growing with the corpus. Mapped, the file is one copy in the page cache that all
workers share, and a question decodes only the few passages it returns (bench/stage_bench.py
prints the cost of one read). The line offsets are private (8 bytes a passage), and so is a
bounded cache of recently decoded passages: a corpus of a few thousand passages ends up held
decoded, as before, while a large one keeps only what is being quoted.
"""

from __future__ import annotations

import json
import mmap
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import overload

import numpy as np

from qa.domain import Passage
from qa.cache import BoundedLRU

NEWLINE = 0x0A
DECODED_CACHE_SIZE = 4096  # passages kept decoded per worker (bounded, whatever the corpus size)


class PassageStore(Sequence[Passage]):
    """A read-only sequence of Passages, one JSON object per line of a mapped file."""

    def __init__(self, buffer: mmap.mmap | bytes, ends: np.ndarray,
                 cache_size: int = DECODED_CACHE_SIZE) -> None:
        self._buffer = buffer
        self._ends = ends  # byte offset of each line's newline (or of the end of the file)
        self._decoded: BoundedLRU[Passage] = BoundedLRU(cache_size)

    @classmethod
    def open(cls, path: Path, cache_size: int = DECODED_CACHE_SIZE) -> PassageStore:
        """Map the file and find its lines (one vectorised scan; nothing is decoded here)."""
        with Path(path).open("rb") as handle:
            if not handle.seek(0, 2):
                return cls(b"", np.zeros(0, dtype=np.int64), cache_size)
            buffer = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        ends = np.flatnonzero(np.frombuffer(buffer, dtype=np.uint8) == NEWLINE)
        if buffer[-1] != NEWLINE:  # a last line without its newline still counts
            ends = np.append(ends, len(buffer))
        return cls(buffer, ends.astype(np.int64), cache_size)

    def __len__(self) -> int:
        return len(self._ends)

    @overload
    def __getitem__(self, row: int) -> Passage: ...

    @overload
    def __getitem__(self, row: slice) -> list[Passage]: ...

    def __getitem__(self, row: int | slice) -> Passage | list[Passage]:
        if isinstance(row, slice):
            return [self._decode(i) for i in range(*row.indices(len(self)))]
        count = len(self)
        if row < 0:
            row += count
        if not 0 <= row < count:
            raise IndexError(f"passage row {row} out of range ({count} passages)")
        passage = self._decoded.get(row)
        if passage is None:
            passage = self._decode(row)
            self._decoded.put(row, passage)
        return passage

    def __iter__(self) -> Iterator[Passage]:
        """Every passage in order, decoded afresh (a full pass does not flush the cache)."""
        for row in range(len(self)):
            yield self._decode(row)

    def _decode(self, row: int) -> Passage:
        start = int(self._ends[row - 1]) + 1 if row else 0
        return Passage.from_json(json.loads(self._buffer[start:int(self._ends[row])]))

