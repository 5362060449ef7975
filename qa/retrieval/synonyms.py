"""The curated synonym / acronym / spelling table, applied to lexical queries.

Dense retrieval already understands paraphrase; BM25 only matches words, so "aHSCT" must also
search for "autologous haematopoietic stem cell transplantation", "hematopoietic" for
"haematopoietic", and so on. The table is a YAML file operators can extend.
"""

from __future__ import annotations

import re
from pathlib import Path

import ahocorasick
import yaml

from qa.errors import ConfigError
from qa.text import fold


class SynonymTable:
    """Groups of equivalent phrases; `expand` appends the other members of every group found."""

    def __init__(self, groups: list[list[str]]) -> None:
        cleaned = ([str(v).lower() for v in group if str(v).strip()] for group in groups)
        # Empty groups are dropped here, so groups and patterns stay paired one to one.
        self._groups = [group for group in cleaned if group]
        self._patterns = [
            re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(v) for v in sorted(g, key=len, reverse=True))
                       + r")(?![\w-])")
            for g in self._groups
        ]
        # Which groups have a variant inside a text, in one Aho-Corasick pass instead of a
        # substring test per variant; the group's regex then only checks the word boundaries.
        self._variants = ahocorasick.Automaton()
        owners: dict[str, list[int]] = {}
        for number, group in enumerate(self._groups):
            for variant in group:
                owners.setdefault(variant, []).append(number)
        for variant, numbers in owners.items():
            self._variants.add_word(variant, tuple(numbers))
        if owners:
            self._variants.make_automaton()

    @classmethod
    def from_file(cls, path: Path) -> SynonymTable:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            groups = data.get("groups", [])
            if not isinstance(groups, list) or not all(isinstance(g, list) for g in groups):
                raise ValueError("'groups' must be a list of lists")
        except (OSError, yaml.YAMLError, ValueError, AttributeError) as exc:
            raise ConfigError(f"cannot read synonym table {path}: {exc}") from exc
        return cls(groups)

    def expand(self, query: str) -> str:
        """The query plus the variants of every group it mentions."""
        lowered = fold(query)
        if not self._groups:
            return query
        mentioned = sorted({number for _, numbers in self._variants.iter(lowered)
                            for number in numbers})
        extra: list[str] = []
        for number in mentioned:  # in table order
            if self._patterns[number].search(lowered):
                group = self._groups[number]
                extra.extend(v for v in group if v not in lowered)
        return query if not extra else query + " " + " ".join(extra)
