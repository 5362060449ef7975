"""The synonym table's concept vectors are made by the build and stored in the index, so an
engine starts without running the model over the table; a table edited after the build has
only its new texts encoded."""

import numpy as np
import pytest

from qa.engine import QAEngine
from qa.errors import IndexLoadError
from qa.indexing.build import run_build
from qa.indexing.layout import CONCEPT_VECTORS, current_build, load_index
from qa.retrieval.concept_vectors import descriptions, table_for_library, texts_for_build
from tests.fakes import HashEmbedder


def built(settings):
    run_build(settings, embedder=HashEmbedder(),
              concept_texts=texts_for_build(settings.synonyms_file))
    return load_index(settings.index_dir)


def test_an_engine_on_a_build_with_stored_vectors_encodes_nothing_at_start(fake_settings):
    index = built(fake_settings)
    table = table_for_library(fake_settings.synonyms_file, index.vocabulary)
    texts = descriptions(table)
    assert len(texts) > 50 and set(index.concept_vectors) == set(texts)
    embedder = HashEmbedder()
    engine = QAEngine(index, embedder, fake_settings)
    assert embedder.encoded == 0
    fresh = dict(zip(texts, HashEmbedder().encode(texts)))
    for group in table.groups:
        if group.concept in engine._concept_vectors:
            assert np.array_equal(engine._concept_vectors[group.concept],
                                  fresh[group.description])


def test_the_same_vectors_as_an_engine_that_encodes_them_itself(fake_settings, fake_index_dir):
    """fake_index_dir was built without concept texts: its engine encodes them at start."""
    stored = QAEngine(built(fake_settings), HashEmbedder(), fake_settings)._concept_vectors
    embedder = HashEmbedder()
    encoded = QAEngine(load_index(fake_index_dir), embedder, fake_settings)._concept_vectors
    assert embedder.calls == 1 and embedder.encoded >= len(encoded)
    assert stored.keys() == encoded.keys()
    assert all(np.array_equal(stored[c], encoded[c]) for c in stored)


def test_a_table_edited_after_the_build_encodes_only_its_new_texts(fake_settings, tmp_path):
    index = built(fake_settings)
    edited = tmp_path / "synonyms.yaml"
    edited.write_text(fake_settings.synonyms_file.read_text(encoding="utf-8").replace(
        "groups:\n", "groups:\n  - {kind: treatment, terms: [quokka therapy, marsupial cuddling]}\n",
        1), encoding="utf-8")
    settings = fake_settings.model_copy(update={"synonyms_file": edited})
    embedder = HashEmbedder()
    engine = QAEngine(index, embedder, settings)
    assert (embedder.calls, embedder.encoded) == (1, 1)
    assert engine._concept_vectors["quokka therapy"].shape == (embedder.dimension,)


@pytest.mark.parametrize("damage", ["delete", "truncate", "wrong_dimension"])
def test_a_build_with_missing_or_damaged_concept_vectors_is_refused(fake_settings, damage):
    built(fake_settings)
    path = current_build(fake_settings.index_dir) / CONCEPT_VECTORS
    if damage == "delete":
        path.unlink()
    elif damage == "truncate":
        path.write_bytes(path.read_bytes()[:100])
    else:
        np.savez(path, texts=np.array('["x"]'), vectors=np.zeros((1, 3), dtype=np.float32))
    with pytest.raises(IndexLoadError) as info:
        load_index(fake_settings.index_dir)
    assert "qa build" in str(info.value) and "\n" not in str(info.value)
