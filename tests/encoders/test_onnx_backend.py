"""The ONNX backend: same vectors as the PyTorch model, a one-off export, a safe fallback."""

from __future__ import annotations

import numpy as np
import pytest

from qa.encoders import embedder_from_settings
from qa.encoders.torch_backend import SentenceTransformerEmbedder
from qa.errors import ModelError
from qa.encoders.onnx_backend import META_FILE, OnnxEmbedder, export_directory
from qa.settings import Settings

TEXTS = [
    "Is stem cell transplant for multiple sclerosis approved by the NHS?",
    "aHSCT",
    "What are the risks of conditioning chemotherapy before autologous transplantation, and how "
    "long does recovery take in hospital?",
    "Können Stammzellen Typ-1-Diabetes heilen?",
]


pytestmark = pytest.mark.model  # the real model, in this process or a served one

@pytest.fixture(scope="module")
def torch_embedder():
    settings = Settings()
    return SentenceTransformerEmbedder(settings.model, settings.model_reference())


def test_onnx_is_the_default_and_matches_pytorch_singly_and_in_padded_batches(
        real_embedder, torch_embedder):
    assert isinstance(real_embedder.loaded(), OnnxEmbedder)
    expected = torch_embedder.encode(TEXTS)
    batched = real_embedder.encode(TEXTS)  # padded to the longest text
    singles = np.vstack([real_embedder.encode([t]) for t in TEXTS])
    assert batched.shape == singles.shape == expected.shape == (len(TEXTS), 384)
    assert np.min(np.sum(batched * expected, axis=1)) > 0.9999
    assert np.min(np.sum(singles * expected, axis=1)) > 0.9999
    assert np.allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)


def test_an_unwritable_export_folder_falls_back_to_pytorch(tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    settings = Settings(model_export_dir=blocker / "models")
    embedder = embedder_from_settings(settings)
    assert isinstance(embedder.loaded(), SentenceTransformerEmbedder)
    assert "ONNX backend unavailable" in caplog.text
    assert embedder.encode(["aHSCT"]).shape == (1, 384)


def test_an_export_for_another_model_is_refused_with_one_line(real_embedder, tmp_path):
    settings = Settings()
    source = export_directory(settings.export_dir(), settings.model)
    with pytest.raises(ModelError, match="another model"):
        OnnxEmbedder("some-other-model", source)
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / META_FILE).write_text("{not json")
    with pytest.raises(ModelError, match="unreadable"):
        OnnxEmbedder(settings.model, damaged)


def test_the_torch_backend_can_be_chosen_and_gives_the_same_vectors(real_embedder):
    embedder = embedder_from_settings(Settings(model_backend="torch"))
    assert embedder.name == Settings().model
    assert isinstance(embedder.loaded(), SentenceTransformerEmbedder)
    cosines = (embedder.encode(TEXTS) * real_embedder.encode(TEXTS)).sum(axis=1)
    assert cosines.min() > 0.9999


def test_loading_is_deferred_until_first_use(tmp_path):
    embedder = embedder_from_settings(Settings(model_export_dir=tmp_path / "never"))
    assert embedder._embedder is None and not (tmp_path / "never").exists()
