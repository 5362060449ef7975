"""Files → Documents. Markdown (YAML front matter), plain text, HTML (main text only) and JSONL.

A file that cannot be read or parsed yields one warning naming it and why; the rest of the corpus is
still used. Only a corpus with no usable document at all is an error.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import frontmatter
import yaml
from bs4 import BeautifulSoup
from markdown_it import MarkdownIt

from qa.domain import Block, Document, Source
from qa.errors import CorpusError

SUPPORTED_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm", ".jsonl")

_md = MarkdownIt("commonmark")
_HTML_DROP_TAGS = ("script", "style", "noscript", "nav", "footer", "header", "aside", "form",
                   "iframe", "svg", "button", "template", "select", "dialog")
_HTML_DROP_HINTS = re.compile(
    r"cookie|consent|newsletter|subscribe|banner|popup|modal|share|social|breadcrumb|sidebar|"
    r"menu|navbar|footer|comment|advert|promo", re.IGNORECASE)
_HTML_BLOCKS = ("h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "blockquote", "pre", "dd", "dt",
                "figcaption", "td")


@dataclass
class LoadResult:
    """Documents read, and one warning line per file (or JSONL line) that was skipped."""

    documents: list[Document] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    content_hash: str = ""  # of the bytes these documents were made from (see corpus_hash)


class _SkipFile(Exception):
    """Internal: this file is unusable for the given reason."""


def iter_corpus_files(paths: Iterable[Path]) -> Iterator[tuple[Path, Path]]:
    """Yield (file, root) pairs in a stable order; hidden files and folders are ignored."""
    for path in paths:
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                relative = file.relative_to(path)
                if any(part.startswith(".") for part in relative.parts):
                    continue
                if file.is_file() and file.suffix.lower() in SUPPORTED_SUFFIXES:
                    yield file, path
        elif path.is_file():
            yield path, path.parent
        else:
            raise CorpusError(f"corpus path not found: {path}")


def _hash_entry(digest: Any, relative: str, raw: bytes) -> None:
    digest.update(relative.encode())
    digest.update(b"\0")
    digest.update(raw)
    digest.update(b"\0")


def corpus_hash(paths: Iterable[Path]) -> str:
    """A content hash of every corpus file, so a build can tell whether the index is stale.
    `load_corpus` computes the same hash over the bytes it actually read."""
    digest = hashlib.sha256()
    for file, root in iter_corpus_files(paths):
        _hash_entry(digest, file.relative_to(root).as_posix(), file.read_bytes())
    return digest.hexdigest()


def load_corpus(paths: Iterable[Path]) -> LoadResult:
    """Read every supported file under `paths`; raise CorpusError only if nothing is usable."""
    paths = list(paths)
    result = LoadResult()
    seen: set[str] = set()
    # Each file is read once and the hash taken from those bytes: a file edited while a build
    # runs is recorded as what was indexed, so the next `--if-needed` build sees the edit.
    digest = hashlib.sha256()
    for file, root in iter_corpus_files(paths):
        relative = file.relative_to(root).as_posix()
        try:
            raw = file.read_bytes()
            _hash_entry(digest, relative, raw)
            docs = _load_file(file, raw, relative, result.warnings)
        except _SkipFile as exc:
            result.warnings.append(f"{file}: skipped: {exc}")
            continue
        except (OSError, UnicodeDecodeError) as exc:
            result.warnings.append(f"{file}: skipped: cannot read ({exc.__class__.__name__}: {exc})")
            continue
        for doc in docs:
            if doc.id in seen:
                result.warnings.append(f"{file}: skipped document '{doc.id}': duplicate id")
                continue
            seen.add(doc.id)
            result.documents.append(doc)
    if not result.documents:
        where = ", ".join(str(p) for p in paths) or "(no path given)"
        raise CorpusError(f"no usable document in corpus: {where}")
    result.content_hash = digest.hexdigest()
    return result


def _load_file(file: Path, raw: bytes, relative: str, warnings: list[str]) -> list[Document]:
    suffix = file.suffix.lower()
    text = raw.decode("utf-8")
    if suffix == ".jsonl":
        return _load_jsonl(file, text, warnings)
    if suffix in (".md", ".markdown"):
        return [_load_markdown(text, file, relative)]
    if suffix in (".html", ".htm"):
        return [_load_html(text, file, relative)]
    return [_load_text(text, file, relative)]


def _nonempty(doc: Document) -> Document:
    if not doc.text.strip() or not doc.blocks:
        raise _SkipFile("no text")
    return doc


def _humanise(stem: str) -> str:
    words = re.sub(r"[-_]+", " ", stem).strip()
    return words[:1].upper() + words[1:] if words else stem


# --- Markdown -----------------------------------------------------------------------------------

def _load_markdown(raw: str, file: Path, relative: str) -> Document:
    try:
        post = frontmatter.loads(raw)
    except (yaml.YAMLError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise _SkipFile(f"invalid front matter ({first})") from exc
    meta: dict[str, Any] = dict(post.metadata)
    body = post.content
    blocks, first_h1 = markdown_blocks(body, default_section=str(meta.get("title") or ""))
    title = str(meta.get("title") or first_h1 or _humanise(file.stem))
    if not meta.get("title"):
        blocks = tuple(Block(b.start, b.end, b.section or title) for b in blocks)
    return _nonempty(Document(
        id=str(meta.get("id") or relative),
        title=title,
        text=body,
        path=relative,
        blocks=blocks,
        sources=_sources(meta.get("sources")),
        reviewed=_date_text(meta.get("reviewed")),
        next_review=_date_text(meta.get("next_review")),
        topics=tuple(str(t) for t in (meta.get("topics") or ())),
        evidence=str(meta["evidence"]) if meta.get("evidence") else None,
        summary=str(meta["summary"]) if meta.get("summary") else None,
    ))


def markdown_blocks(body: str, default_section: str = "") -> tuple[tuple[Block, ...], str]:
    """Paragraphs and list items with the nearest heading as their section; also the first H1."""
    line_starts = [0]
    for match in re.finditer("\n", body):
        line_starts.append(match.end())
    line_starts.append(len(body))

    def span(line_map: list[int]) -> tuple[int, int]:
        start = line_starts[min(line_map[0], len(line_starts) - 1)]
        end = line_starts[min(line_map[1], len(line_starts) - 1)]
        while end > start and body[end - 1].isspace():
            end -= 1
        return start, end

    tokens = _md.parse(body)
    blocks: list[Block] = []
    section = default_section
    first_h1 = ""
    list_depth = 0
    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            heading = tokens[i + 1].content.strip()
            if token.tag == "h1" and not first_h1:
                first_h1 = heading
            section = heading or section
        elif token.type in ("bullet_list_open", "ordered_list_open"):
            list_depth += 1
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            list_depth -= 1
        elif token.type == "list_item_open" and list_depth == 1 and token.map:
            blocks.append(Block(*span(token.map), section))
        elif list_depth == 0 and token.level == 0 and token.map and token.type in (
            "paragraph_open", "blockquote_open", "fence", "code_block", "table_open", "html_block"
        ):
            blocks.append(Block(*span(token.map), section))
    return tuple(b for b in blocks if b.end > b.start), first_h1


def _sources(raw: object) -> tuple[Source, ...]:
    if not isinstance(raw, list):
        return ()
    sources = []
    for item in raw:
        if isinstance(item, dict) and item.get("name"):
            year = item.get("year")
            sources.append(Source(
                name=str(item["name"]),
                url=str(item.get("url") or ""),
                year=int(year) if isinstance(year, int | str) and str(year).isdigit() else None,
            ))
        elif isinstance(item, str):
            sources.append(Source(name=item))
    return tuple(sources)


def _date_text(value: object) -> str | None:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value) if value else None


# --- plain text ---------------------------------------------------------------------------------

def paragraph_blocks(text: str, section: str) -> tuple[Block, ...]:
    """Blank-line separated paragraphs (a single newline is treated as a line wrap)."""
    blocks = []
    for match in re.finditer(r"\S(?:.*?\S)?(?=\s*\n\s*\n|\s*\Z)", text, flags=re.DOTALL):
        blocks.append(Block(match.start(), match.end(), section))
    return tuple(blocks)


def _load_text(text: str, file: Path, relative: str) -> Document:
    title = _humanise(file.stem)
    return _nonempty(Document(id=relative, title=title, text=text, path=relative,
                              blocks=paragraph_blocks(text, title)))


# --- HTML ---------------------------------------------------------------------------------------

def _load_html(raw: str, file: Path, relative: str) -> Document:
    soup = BeautifulSoup(raw, "lxml")
    page_title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(list(_HTML_DROP_TAGS)):
        tag.decompose()
    for tag in soup.find_all(_has_boilerplate_hint):
        tag.decompose()
    root = soup.find("main") or soup.find("article") or soup.body or soup
    parts: list[tuple[str, str]] = []  # (kind, text)
    for element in root.find_all(_HTML_BLOCKS):
        if element.name in ("li", "blockquote", "td") and element.find(["p", "li"]):
            continue
        text = " ".join(element.get_text(" ", strip=True).split())
        if text:
            parts.append(("heading" if element.name[0] == "h" and element.name[1:].isdigit()
                          else "block", text))
    title = page_title or next((t for k, t in parts if k == "heading"), "") or _humanise(file.stem)
    body, blocks, section = "", [], title
    for kind, text in parts:
        if body:
            body += "\n\n"
        start = len(body)
        body += text
        if kind == "heading":
            section = text
        else:
            blocks.append(Block(start, len(body), section))
    return _nonempty(Document(id=relative, title=title, text=body, path=relative,
                              blocks=tuple(blocks)))


def _has_boilerplate_hint(tag: Any) -> bool:
    if tag.name in ("html", "body", "main", "article"):
        return False
    attrs = getattr(tag, "attrs", None) or {}
    values = [attrs.get("id") or "", " ".join(attrs.get("class") or ()), attrs.get("role") or ""]
    joined = " ".join(values)
    if attrs.get("role") in ("navigation", "banner", "contentinfo", "complementary", "dialog"):
        return True
    return bool(joined and _HTML_DROP_HINTS.search(joined))


# --- JSONL --------------------------------------------------------------------------------------

def _load_jsonl(file: Path, content: str, warnings: list[str]) -> list[Document]:
    docs = []
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
            doc_id, text = record.get("id"), record.get("text")
            if not doc_id or not isinstance(text, str) or not text.strip():
                raise ValueError("needs a non-empty 'id' and 'text'")
        except ValueError as exc:
            warnings.append(f"{file}:{number}: skipped line: {exc}")
            continue
        title = str(record.get("title") or doc_id)
        url = str(record.get("url") or "")
        source_name = str(record.get("source") or title)
        docs.append(Document(
            id=str(doc_id), title=title, text=text, path=f"{file.name}:{number}",
            blocks=paragraph_blocks(text, title),
            sources=(Source(name=source_name, url=url),) if (url or record.get("source")) else (),
            reviewed=_date_text(record.get("reviewed")),
        ))
    if not docs:
        raise _SkipFile("no usable JSONL line")
    return docs
