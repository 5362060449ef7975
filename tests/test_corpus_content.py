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


# --- staleness: every dated fact can be seen to be current ---------------------------------------

MONTHS = {m: i for i, m in enumerate(("january", "february", "march", "april", "may", "june", "july",
                                      "august", "september", "october", "november", "december"),
                                     start=1)}
AS_OF = re.compile(r"\bas of (?:(?P<month>[A-Za-z]+) )?(?P<year>(?:19|20)\d\d)\b", re.IGNORECASE)
FAST_MOVING = {"car-t", "islet-cells", "regulation", "clinical-trials", "costs"}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_next_review_is_set_and_not_passed(path):
    meta = frontmatter.load(path).metadata
    reviewed, next_review = meta["reviewed"], meta.get("next_review")
    assert isinstance(next_review, dt.date), f"{path.name}: needs next_review (YYYY-MM-DD)"
    assert reviewed < next_review <= reviewed + dt.timedelta(days=366), path.name
    assert next_review >= dt.date.today(), f"{path.name}: past its next_review ({next_review})"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_time_bound_statements_name_a_month_and_are_not_a_year_stale(path):
    meta = frontmatter.load(path).metadata
    for found in AS_OF.finditer(frontmatter.load(path).content):
        month = found.group("month")
        assert month and month.lower() in MONTHS, \
            f"{path.name}: '{found.group(0)}' needs a month ('as of <Month YYYY>')"
        stated = dt.date(int(found.group("year")), MONTHS[month.lower()], 1)
        assert meta["reviewed"] - stated <= dt.timedelta(days=366), \
            f"{path.name}: '{found.group(0)}' is more than a year older than the review date"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_no_source_is_a_bare_homepage(path):
    for source in frontmatter.load(path).metadata["sources"]:
        url = urlparse(str(source["url"]))
        assert url.path.strip("/") or url.query, f"{path.name}: {source['url']} is a homepage"
