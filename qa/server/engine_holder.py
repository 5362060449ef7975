"""Pick up a new index while serving, without a restart and without a failed request.

The holder keeps a reference to the live engine. A reload loads and verifies the new build fully
*beside* the old one (sharing the model; the triage rules and examples are read again, so an
operator's edit to them takes effect with the same reload), then replaces
the reference in one assignment. A request that already holds the old engine finishes on it; the
next one gets the new engine. A broken new build is refused and the old engine keeps serving.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qa.engine import QAEngine
from qa.indexing.layout import load_index


class EngineHolder:
    """The live engine, swappable."""

    def __init__(self, engine: QAEngine,
                 on_swap: Callable[[QAEngine], None] | None = None) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._on_swap = on_swap

    @property
    def engine(self) -> QAEngine:
        return self._engine

    def reload(self) -> dict[str, Any]:
        """Load the live build and the triage rules, and swap them in together; raises
        IndexLoadError or ConfigError (the old engine kept) if either is broken. `reloaded` says
        whether the index changed; the triage rules are read again either way."""
        with self._lock:
            old = self._engine
            index = load_index(old.settings.index_dir, expected_model=old.settings.model)
            changed = Path(index.path) != Path(old.index.path)
            new = old.reloaded(index if changed else old.index)
            self._engine = new
        if self._on_swap:
            self._on_swap(new)
        return {"reloaded": changed, "build": index.path.name,
                "passages": index.manifest.get("passages")}
