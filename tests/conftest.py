"""Shared fixtures: a fake embedder and a small fixture corpus for fast tests; the real model and
the real corpus loaded once per test session for quality and end-to-end tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from qa.indexing.build import run_build  # noqa: E402
from qa.engine import QAEngine  # noqa: E402
from qa.indexing.layout import load_index  # noqa: E402
from qa.settings import Settings  # noqa: E402
from tests.fakes import HashEmbedder  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_CORPUS = Path(__file__).parent / "fixtures" / "corpus"
REAL_CORPUS = ROOT / "corpus"
SHARED = ROOT.parent / "shared"
SAMPLE_ARTICLE = SHARED / "data" / "samples" / "stem-cell-autoimmune-article.txt"


def make_settings(tmp_path: Path, corpus: list[Path] | None = None, **overrides) -> Settings:
    """Settings isolated from the environment's QA_ variables where it matters for tests."""
    # No document reranker: its weights are fitted to the real model's features, and unit tests
    # of fusion read the fused order (tests/retrieval/test_document_reranker.py tests it).
    values = dict(corpus=corpus or [FIXTURE_CORPUS], index_dir=tmp_path / "index",
                  model="fake-hash-embedder", min_score=0.05, document_reranker=False)
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def fake_embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture
def fake_settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture(scope="session")
def fake_index_dir(tmp_path_factory) -> Path:
    """The fixture corpus built once with the fake embedder; tests only read it."""
    settings = make_settings(tmp_path_factory.mktemp("fake"))
    run_build(settings, embedder=HashEmbedder())
    return settings.index_dir


@pytest.fixture
def fake_engine(fake_index_dir: Path, fake_settings: Settings, fake_embedder: HashEmbedder
                ) -> QAEngine:
    """An engine over the fixture corpus with the fake embedder (no safety triage: unit scope)."""
    settings = fake_settings.model_copy(update={"index_dir": fake_index_dir})
    index = load_index(fake_index_dir, expected_model=settings.model)
    return QAEngine(index, fake_embedder, settings)


@pytest.fixture(scope="session")
def fake_triage_model(tmp_path_factory) -> Path:
    """A triage model trained on the fake embedder's vectors from the curated examples alone
    (seconds), for fast tests of the whole triage pipeline."""
    from qa.safety.training import train
    from qa.settings import PACKAGE_DATA

    target = tmp_path_factory.mktemp("triage") / "model.npz"
    train([PACKAGE_DATA / "triage_examples.yaml"], HashEmbedder(), target)
    return target


MODEL_FIXTURES = {"real_embedder", "real_index_settings", "real_engine"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses the real model carries the `model` marker, whether it asks for it by
    a fixture (marked here) or by starting `qa` in a subprocess (marked in its module), so
    `pytest -m "not model"` is an honest fast loop."""
    for item in items:
        if MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.model)


@pytest.fixture(scope="session")
def real_embedder():
    """The bundled all-MiniLM-L6-v2, loaded once for the whole session."""
    from qa.encoders import embedder_from_settings

    embedder = embedder_from_settings(Settings())
    embedder.encode(["warm up"])
    return embedder


@pytest.fixture(scope="session")
def real_index_settings(tmp_path_factory, real_embedder) -> Settings:
    """The real corpus built once with the real model into a session temp folder."""
    from qa.retrieval.concept_vectors import texts_for_build

    settings = Settings(corpus=[REAL_CORPUS], index_dir=tmp_path_factory.mktemp("real") / "index")
    run_build(settings, embedder=real_embedder,
              concept_texts=texts_for_build(settings.synonyms_file))
    return settings


@pytest.fixture(scope="session")
def real_engine(real_index_settings: Settings, real_embedder) -> QAEngine:
    """The production configuration: real corpus, real model, safety triage when installed."""
    return QAEngine.from_settings(real_index_settings, embedder=real_embedder)
