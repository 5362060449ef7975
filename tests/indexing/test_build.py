"""Making a build: what it records about the corpus, and the order it encodes in."""

from __future__ import annotations

import numpy as np

from qa.indexing import build
from qa.indexing.build import BuildConfig, embed_by_length, is_up_to_date, run_build
from qa.indexing.layout import load_index
from qa.ingest.readers import corpus_hash
from tests.fakes import HashEmbedder
from tests.indexing.test_layout import copy_corpus
from tests.conftest import make_settings


def test_a_file_edited_during_a_build_leaves_the_index_stale(tmp_path, monkeypatch):
    """The manifest records the bytes that were indexed, not the bytes found afterwards."""
    corpus = copy_corpus(tmp_path)
    settings = make_settings(tmp_path, corpus=[corpus])
    original = build.load_corpus

    def load_then_edit(paths):
        loaded = original(paths)
        doc = corpus / "apheresis.md"
        doc.write_text(doc.read_text() + "\nEdited while the build was running.\n")
        return loaded

    monkeypatch.setattr(build, "load_corpus", load_then_edit)
    run_build(settings, embedder=HashEmbedder())
    manifest = load_index(settings.index_dir).manifest
    assert manifest["corpus_hash"] != corpus_hash([corpus])
    assert not is_up_to_date(BuildConfig.from_settings(settings), settings.index_dir)


def test_an_unchanged_corpus_is_up_to_date_after_a_build(tmp_path):
    corpus = copy_corpus(tmp_path)
    settings = make_settings(tmp_path, corpus=[corpus])
    run_build(settings, embedder=HashEmbedder())
    assert load_index(settings.index_dir).manifest["corpus_hash"] == corpus_hash([corpus])
    assert is_up_to_date(BuildConfig.from_settings(settings), settings.index_dir)


class RecordingEmbedder(HashEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[str]] = []

    def encode(self, texts, batch_size=32, progress=None):
        texts = list(texts)
        self.batches += [texts[i:i + batch_size] for i in range(0, len(texts), batch_size)]
        return super().encode(texts, batch_size, progress)


def test_encoding_goes_by_length_and_rows_come_back_in_corpus_order():
    texts = ["a much longer text about mesenchymal stromal cells and lupus " * 3, "short",
             "medium length text on apheresis", "tiny", "another rather long text " * 5]
    embedder = RecordingEmbedder()
    vectors = embed_by_length(embedder, texts, batch_size=2)
    lengths = [len(t) for batch in embedder.batches for t in batch]
    assert lengths == sorted(lengths)
    assert np.allclose(vectors, HashEmbedder().encode(texts))


def test_documents_past_their_next_review_get_one_warning_line_each(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    body = "## Section\nAutologous transplant facts that were checked on a date, in enough words.\n"
    (corpus / "due.md").write_text(f"---\nid: due\ntitle: Due\nreviewed: 2020-01-01\n"
                                   f"next_review: 2020-07-01\n---\n{body}")
    (corpus / "fresh.md").write_text(f"---\nid: fresh\ntitle: Fresh\nreviewed: 2026-11-01\n"
                                     f"next_review: 2999-01-01\n---\n{body}")
    (corpus / "undated.md").write_text(f"---\nid: undated\ntitle: Undated\n---\n{body}")
    report = run_build(make_settings(tmp_path, corpus=[corpus]), embedder=HashEmbedder())
    overdue = [w for w in report.warnings if "due for review" in w]
    assert overdue == ["due.md: due for review since 2020-07-01; re-check its dated facts"]
