"""One vector per concept of the synonym table (all its names and its class together): the
engine's abstention compares a passage that word search found through a concept's other names
with it, at no model call per question.

Which texts are encoded depends on the library's words (a class is kept only for a concept the
library never names: `SynonymTable.classes_only_for_unnamed`), so `qa build` makes the vectors
with the index it builds and stores them in it. Encoding them at every start-up was the largest
single share of start-up time (docs/benchmarks.md). A table edited after the build keeps working:
only the texts the build did not store are encoded when the engine starts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path

import numpy as np

from qa.encoders import Embedder
from qa.retrieval.synonyms import Group, SynonymTable
from qa.text import WORD, fold


def library_says(vocabulary: Mapping[str, int], words: str) -> bool:
    """Whether the library writes every word of `words` somewhere."""
    return all(word in vocabulary for word in WORD.findall(fold(words)))


def library_count(vocabulary: Mapping[str, int], words: str) -> int:
    """How often the library writes `words`, as far as word counts tell: the count of its
    rarest word (0 when the library never writes one of them)."""
    return min((vocabulary.get(word, 0) for word in WORD.findall(fold(words))), default=0)


def table_for_library(synonyms_file: Path, vocabulary: Mapping[str, int]) -> SynonymTable:
    """The synonym table as the engine uses it on a library with this vocabulary."""
    return SynonymTable.from_file(synonyms_file).classes_only_for_unnamed(
        partial(library_says, vocabulary))


def texts_for_build(synonyms_file: Path) -> Callable[[Mapping[str, int]], list[str]]:
    """What `qa build` stores vectors for: the table's texts on the library it is building."""
    return lambda vocabulary: descriptions(table_for_library(synonyms_file, vocabulary))


def descriptions(table: SynonymTable) -> list[str]:
    """The texts the build encodes, in the table's order (the order the engine encoded them
    in before they were stored, so the stored vectors are the same numbers)."""
    return [g.description for g in _described(table)]


def concept_vectors(table: SynonymTable, stored: Mapping[str, np.ndarray],
                    embedder: Embedder) -> dict[str, np.ndarray]:
    """Each expanding concept's vector: the build's where it stored the same text, the rest
    encoded now in one call."""
    groups = _described(table)
    missing = sorted({g.description for g in groups} - set(stored))
    fresh = dict(zip(missing, embedder.encode(missing))) if missing else {}
    return {g.concept: np.asarray(stored.get(g.description, fresh.get(g.description)))
            for g in groups}


def _described(table: SynonymTable) -> list[Group]:
    """The concepts that get a vector: those whose names expand a search (not spellings)."""
    return [g for g in table.groups if g.expand and g.kind != "spelling"]
