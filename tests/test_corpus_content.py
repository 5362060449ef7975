"""The curated corpus keeps its promises: complete front matter, sources, dates, sane passages."""

import datetime as dt
import re
from urllib.parse import urlparse

import frontmatter
import pytest

from qa.ingest.chunking import BoilerplateFilter, ChunkingConfig, chunk_document
from qa.ingest.readers import load_corpus
from qa.settings import PACKAGE_DATA
from tests.conftest import REAL_CORPUS

EVIDENCE = {"regulator", "guideline", "randomized-trial", "observational", "review",
            "patient-organisation", "explainer"}
FILES = sorted(REAL_CORPUS.glob("*.md"))


def test_the_corpus_has_at_least_45_documents():
    assert len(FILES) >= 45


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_front_matter_is_complete(path):
    meta = frontmatter.load(path).metadata
    for key in ("id", "title", "summary", "sources", "reviewed", "topics", "evidence"):
        assert meta.get(key), f"{path.name}: missing {key}"
    assert meta["id"] == path.stem
    assert meta["evidence"] in EVIDENCE
    reviewed = meta["reviewed"]
    assert isinstance(reviewed, dt.date) and reviewed <= dt.date.today()
    assert isinstance(meta["sources"], list) and meta["sources"]
    for source in meta["sources"]:
        assert source.get("name") and isinstance(source.get("year"), int)
        url = urlparse(str(source.get("url", "")))
        assert url.scheme == "https" and "." in url.netloc and " " not in source["url"]


def test_ids_are_unique():
    ids = [frontmatter.load(p).metadata["id"] for p in FILES]
    assert len(ids) == len(set(ids))


def test_passages_are_neither_empty_nor_oversized():
    documents = load_corpus([REAL_CORPUS]).documents
    config = ChunkingConfig()
    boilerplate = BoilerplateFilter.from_file(PACKAGE_DATA / "boilerplate.yaml")
    for doc in documents:
        passages, dropped = chunk_document(doc, config, boilerplate)
        assert passages, doc.id
        assert dropped == 0, f"{doc.id}: curated text should contain no call to action"
        for p in passages:
            words = len(p.text.split())
            assert 8 <= words <= 240, (doc.id, p.section, words)


def test_sections_stand_alone():
    """A quote is read alone: sections must not lean on "this treatment" or "see above"."""
    pattern = re.compile(r"\b(see above|as above|see below|as mentioned above)\b", re.IGNORECASE)
    for path in FILES:
        assert not pattern.search(path.read_text(encoding="utf-8")), path.name
