"""Ingestion: every format, stable ids, warnings for bad files, an error for an empty corpus."""

from pathlib import Path

import pytest

from qa.ingest.readers import corpus_hash, load_corpus
from qa.errors import CorpusError
from tests.conftest import FIXTURE_CORPUS


def by_id(result):
    return {d.id: d for d in result.documents}


def test_markdown_front_matter_is_read():
    docs = by_id(load_corpus([FIXTURE_CORPUS]))
    doc = docs["msc-basics"]
    assert doc.title == "Mesenchymal stromal cells in brief"
    assert doc.reviewed == "2025-01-15"
    assert doc.sources[0].url == "https://example.org/msc" and doc.sources[0].year == 2024
    assert doc.topics == ("basics", "msc") and doc.evidence == "explainer"
    assert {b.section for b in doc.blocks} == {"What mesenchymal stromal cells are",
                                               "How mesenchymal stromal cells are given"}


def test_ids_fall_back_to_relative_path():
    docs = by_id(load_corpus([FIXTURE_CORPUS]))
    assert "nested/trials.txt" in docs and "page.html" in docs


def test_html_keeps_main_text_only():
    doc = by_id(load_corpus([FIXTURE_CORPUS]))["page.html"]
    assert "Sperm banking" in doc.text
    for junk in ("tracking", "About our clinic", "cookies", "Copyright", "color:red"):
        assert junk not in doc.text
    assert doc.title == "Fertility after transplant"
    assert any(b.section == "Pregnancy after transplant" for b in doc.blocks)


def test_jsonl_lines_become_documents_and_bad_lines_warn():
    result = load_corpus([FIXTURE_CORPUS])
    doc = by_id(result)["jsonl-thyroid"]
    assert doc.sources[0].url == "https://example.org/thyroid"
    bad = [w for w in result.warnings if "extra.jsonl" in w]
    assert len(bad) == 2 and any(":2:" in w for w in bad) and any(":3:" in w for w in bad)


def test_unreadable_files_warn_and_the_build_goes_on(tmp_path: Path):
    (tmp_path / "good.md").write_text("---\nid: good\ntitle: Good\n---\nA sentence about lupus.\n")
    (tmp_path / "bad-yaml.md").write_text("---\nid: [unclosed\n---\nText.\n")
    (tmp_path / "binary.txt").write_bytes(b"\xff\xfe\x00\x81 not utf-8")
    (tmp_path / "empty.html").write_text("<html><body><nav>menu</nav></body></html>")
    result = load_corpus([tmp_path])
    assert [d.id for d in result.documents] == ["good"]
    assert len(result.warnings) == 3
    for name in ("bad-yaml.md", "binary.txt", "empty.html"):
        assert sum(name in w for w in result.warnings) == 1


def test_duplicate_ids_keep_the_first(tmp_path: Path):
    for name in ("a.md", "b.md"):
        (tmp_path / name).write_text("---\nid: same\ntitle: T\n---\nSome text here.\n")
    result = load_corpus([tmp_path])
    assert len(result.documents) == 1 and "duplicate id" in result.warnings[0]


def test_corpus_without_usable_documents_is_an_error(tmp_path: Path):
    (tmp_path / "notes.bin").write_bytes(b"ignored")
    with pytest.raises(CorpusError, match="no usable document"):
        load_corpus([tmp_path])
    with pytest.raises(CorpusError, match="not found"):
        load_corpus([tmp_path / "missing"])


def test_corpus_hash_changes_with_content(tmp_path: Path):
    (tmp_path / "a.txt").write_text("one")
    first = corpus_hash([tmp_path])
    (tmp_path / "a.txt").write_text("two")
    assert corpus_hash([tmp_path]) != first
