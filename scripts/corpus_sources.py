"""Print the corpus source list (every document's public sources) as Markdown.

    python scripts/corpus_sources.py            # print
    python scripts/corpus_sources.py --write    # replace the marked section of docs/corpus.md
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import frontmatter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import replace_section  # noqa: E402


def source_list(corpus: Path) -> str:
    by_url: dict[str, dict] = {}
    used_by: dict[str, list[str]] = defaultdict(list)
    rows = []
    for path in sorted(corpus.glob("*.md")):
        meta = frontmatter.load(path).metadata
        rows.append(f"| `{meta['id']}` | {meta['title']} | {meta['evidence']} | {meta['reviewed']} |")
        for source in meta.get("sources", []):
            key = source.get("url") or source["name"]
            by_url.setdefault(key, source)
            used_by[key].append(meta["id"])
    lines = ["### Documents", "", "| id | title | evidence | reviewed |", "| --- | --- | --- | --- |",
             *rows, "", f"### Sources ({len(by_url)})", ""]
    for key, source in sorted(by_url.items(), key=lambda kv: kv[1]["name"].lower()):
        link = f"[{source['name']}]({source['url']})" if source.get("url") else source["name"]
        lines.append(f"- {link} ({source.get('year', 'n.d.')}) — used by "
                     + ", ".join(f"`{d}`" for d in used_by[key]))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    text = source_list(ROOT / "corpus")
    if args.write:
        replace_section(ROOT / "docs" / "corpus.md", "sources", text)
    else:
        print(text)


if __name__ == "__main__":
    main()
