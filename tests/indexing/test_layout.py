"""The index folder: atomic publication, verified loading, incremental re-embedding."""

import json
import shutil
from pathlib import Path

import faiss
import numpy as np
import pytest

from qa.indexing.build import run_build
from qa.errors import IndexLoadError
from qa.indexing.layout import current_build, load_index
from tests.conftest import FIXTURE_CORPUS, make_settings
from tests.fakes import HashEmbedder


def copy_corpus(tmp_path: Path) -> Path:
    target = tmp_path / "corpus"
    shutil.copytree(FIXTURE_CORPUS, target)
    return target


def test_build_then_load_round_trip(fake_settings, fake_embedder):
    report = run_build(fake_settings, embedder=fake_embedder)
    index = load_index(fake_settings.index_dir, expected_model="fake-hash-embedder")
    assert report.passages == len(index.passages) == index.dense.ntotal > 0
    manifest = index.manifest
    assert manifest["model"] == {"name": "fake-hash-embedder", "dimension": 256}
    assert manifest["passages"] == report.passages and manifest["documents"] == report.documents
    for key in ("format_version", "corpus_hash", "built_at", "versions", "files"):
        assert key in manifest
    assert np.allclose(np.linalg.norm(index.embeddings, axis=1), 1.0, atol=1e-5)


def test_a_published_build_is_readable_by_other_users(fake_settings, fake_embedder):
    report = run_build(fake_settings, embedder=fake_embedder)
    assert report.path.stat().st_mode & 0o755 == 0o755  # a service user may differ from the builder


def test_incremental_rebuild_re_embeds_only_changed_passages(tmp_path):
    corpus = copy_corpus(tmp_path)
    settings = make_settings(tmp_path, corpus=[corpus])
    embedder = HashEmbedder()
    first = run_build(settings, embedder=embedder)
    assert first.re_embedded == first.passages and first.reused == 0

    unchanged = run_build(settings, embedder=embedder)
    assert unchanged.re_embedded == 0 and unchanged.reused == first.passages

    doc = corpus / "apheresis.md"
    doc.write_text(doc.read_text().replace("a few hours", "about four hours"))
    edited = run_build(settings, embedder=embedder)
    assert edited.re_embedded == 1 and edited.reused == first.passages - 1


def test_if_needed_skips_an_up_to_date_index(tmp_path):
    corpus = copy_corpus(tmp_path)
    settings = make_settings(tmp_path, corpus=[corpus])
    run_build(settings, embedder=HashEmbedder())
    assert run_build(settings, if_needed=True, embedder=HashEmbedder()).skipped
    (corpus / "new.txt").write_text("A new paragraph about lupus and cell therapy trials.")
    assert not run_build(settings, if_needed=True, embedder=HashEmbedder()).skipped


def test_a_crash_mid_build_leaves_the_previous_index_in_place(fake_settings, monkeypatch):
    run_build(fake_settings, embedder=HashEmbedder())
    before = current_build(fake_settings.index_dir)

    def explode(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(faiss, "write_index", explode)
    with pytest.raises(OSError):
        run_build(fake_settings, embedder=HashEmbedder())
    assert current_build(fake_settings.index_dir) == before
    assert not list((fake_settings.index_dir / "builds").glob(".tmp-*"))
    load_index(fake_settings.index_dir)


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete", "manifest"])
def test_corrupt_or_missing_files_are_refused_with_one_clear_line(fake_settings, damage):
    run_build(fake_settings, embedder=HashEmbedder())
    build = current_build(fake_settings.index_dir)
    target = build / "embeddings.npy"
    if damage == "truncate":
        target.write_bytes(target.read_bytes()[:100])
    elif damage == "flip":
        data = bytearray(target.read_bytes())
        data[-1] ^= 0xFF
        target.write_bytes(bytes(data))
    elif damage == "delete":
        target.unlink()
    else:
        (build / "manifest.json").write_text("{not json")
    with pytest.raises(IndexLoadError) as info:
        load_index(fake_settings.index_dir)
    message = str(info.value)
    assert "qa build" in message and "\n" not in message


def test_model_mismatch_is_refused(fake_settings):
    run_build(fake_settings, embedder=HashEmbedder())
    with pytest.raises(IndexLoadError, match="built with model 'fake-hash-embedder'"):
        load_index(fake_settings.index_dir, expected_model="another-model")


def test_dimension_mismatch_is_refused(fake_settings):
    from qa.engine import QAEngine

    run_build(fake_settings, embedder=HashEmbedder())
    index = load_index(fake_settings.index_dir)
    with pytest.raises(IndexLoadError, match="dimension"):
        QAEngine(index, HashEmbedder(dimension=64), fake_settings)


def test_missing_index_is_refused(tmp_path):
    with pytest.raises(IndexLoadError, match="no index found"):
        load_index(tmp_path / "nowhere")


def test_large_corpora_get_an_approximate_index(tmp_path):
    settings = make_settings(tmp_path, ann_threshold=3)
    report = run_build(settings, embedder=HashEmbedder())
    index = load_index(settings.index_dir)
    assert report.dense_index == "hnsw" and isinstance(index.dense, faiss.IndexHNSWSQ)
    manifest = json.loads((current_build(settings.index_dir) / "manifest.json").read_text())
    assert manifest["dense_index"]["type"] == "hnsw" and manifest["dense_index"]["storage"] == "fp16"
    from qa.engine import QAEngine

    QAEngine(index, HashEmbedder(), settings.model_copy(update={"hnsw_ef_search": 77}))
    assert index.dense.hnsw.efSearch == 77  # the query-time breadth comes from the settings


def test_old_builds_are_pruned(fake_settings):
    for _ in range(5):
        run_build(fake_settings, embedder=HashEmbedder())
    builds = [p for p in (fake_settings.index_dir / "builds").iterdir() if not p.name.startswith(".")]
    assert len(builds) == 3 and current_build(fake_settings.index_dir) in builds


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("ann_threshold", [10_000, 3], ids=["exact", "hnsw"])
def test_passages_vectors_and_dense_index_are_memory_mapped_not_copied(tmp_path, ann_threshold):
    """Workers share the index pages only if each maps the files rather than reading a copy."""
    settings = make_settings(tmp_path, ann_threshold=ann_threshold)
    run_build(settings, embedder=HashEmbedder())
    index = load_index(settings.index_dir)
    mapped = Path("/proc/self/maps").read_text()
    for name in ("dense.faiss", "embeddings.npy", "passages.jsonl"):
        assert str(index.path / name) in mapped, name


def test_each_document_has_one_card_from_its_title_and_summary(fake_settings):
    from qa.indexing.document_cards import card_text

    run_build(fake_settings, embedder=HashEmbedder())
    index = load_index(fake_settings.index_dir)
    documents = json.loads((index.path / "documents.json").read_text())
    numbers = index.row_facts.documents
    assert index.document_vectors.shape == (int(numbers.max()) + 1, 256)
    for row, passage in enumerate(index.passages):
        document = documents[passage.document_id]
        expected = HashEmbedder().encode([card_text(document["title"], document["summary"])])[0]
        assert np.allclose(index.document_vectors[numbers[row]], expected, atol=1e-6)


def test_a_changed_summary_re_embeds_its_card_and_no_passage(tmp_path):
    corpus = copy_corpus(tmp_path)
    settings = make_settings(tmp_path, corpus=[corpus])
    embedder = HashEmbedder()
    first = run_build(settings, embedder=embedder)
    cards = len(load_index(settings.index_dir).document_vectors)
    assert embedder.encoded == first.passages + cards

    embedder.encoded = 0
    run_build(settings, embedder=embedder)
    assert embedder.encoded == 0  # passages and cards alike come from the live build

    doc = corpus / "apheresis.md"
    doc.write_text(doc.read_text().replace('title: "Apheresis explained"',
                                           'title: "Apheresis explained"\nsummary: "How stem '
                                           'cells are collected from the blood."'))
    edited = run_build(settings, embedder=embedder)
    assert embedder.encoded == 1 and edited.re_embedded == 0


def test_a_build_without_document_cards_is_refused_with_one_clear_line(fake_settings):
    run_build(fake_settings, embedder=HashEmbedder())
    (current_build(fake_settings.index_dir) / "document_vectors.npy").unlink()
    with pytest.raises(IndexLoadError, match="missing") as info:
        load_index(fake_settings.index_dir)
    assert "qa build" in str(info.value) and "\n" not in str(info.value)


def test_a_build_stores_the_drug_names_and_refuses_to_load_without_them(fake_settings):
    run_build(fake_settings, embedder=HashEmbedder())
    assert load_index(fake_settings.index_dir).drug_names["ozempic"] == ["semaglutide"]
    (current_build(fake_settings.index_dir) / "drug_names.json").unlink()
    with pytest.raises(IndexLoadError, match="missing") as info:
        load_index(fake_settings.index_dir)
    assert "qa build" in str(info.value) and "\n" not in str(info.value)
