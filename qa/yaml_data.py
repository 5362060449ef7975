"""Reading the package's YAML data files (rules, lexicons, concept table, locales).

PyYAML's pure-Python parser is slow enough on the crisis lexicon and the red-flag rules to be a
visible share of start-up; its C binding (libyaml, shipped in PyYAML's wheels) reads the same
documents into the same values in a fraction of the time. Every data file is read through here
so the faster loader is used everywhere, with the pure-Python one as the fallback where the
binding is missing.
"""

from __future__ import annotations

from typing import Any

import yaml

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """The document in `text`, read safely (no arbitrary objects); raises yaml.YAMLError."""
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader, C or Python
