"""Calls to action and banners that must never be quoted; patterns live in an operator-editable
YAML file (qa/data/boilerplate.yaml)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from qa.errors import ConfigError
from qa.yaml_data import load_yaml


class BoilerplateFilter:
    """Recognises calls to action and banners; patterns live in an operator-editable YAML file."""

    def __init__(self, patterns: list[str]) -> None:
        try:
            self._patterns = [re.compile(p, re.IGNORECASE) for p in patterns]
        except re.error as exc:
            raise ConfigError(f"invalid boilerplate pattern: {exc}") from exc

    @classmethod
    def from_file(cls, path: Path) -> BoilerplateFilter:
        try:
            data = load_yaml(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read boilerplate patterns {path}: {exc}") from exc
        return cls([str(p) for p in data.get("patterns", [])])

    def matches(self, sentence: str) -> bool:
        return any(p.search(sentence) for p in self._patterns)
