"""Write a benchmark's Markdown between markers in docs/benchmarks.md, leaving the rest alone."""

from __future__ import annotations

import datetime as dt
from pathlib import Path


def replace_section(path: Path, name: str, body: str) -> None:
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    stamped = f"{start}\n_Generated {dt.date.today().isoformat()} by the committed script._\n\n{body}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        _, after = rest.split(end, 1)
        text = before + stamped + after
    else:
        text = text.rstrip() + "\n\n" + stamped + "\n"
    path.write_text(text, encoding="utf-8")
