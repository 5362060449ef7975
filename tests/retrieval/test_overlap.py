"""Triage and BM25 beside the dense search (HNSW indexes): same answers, safety still first."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from qa.indexing.build import run_build
from qa.domain import Triage
from qa.engine import QAEngine
from qa.indexing.layout import load_index
from tests.conftest import make_settings

QUESTIONS = ("How are mesenchymal stromal cells given?", "what is apheresis",
             "how long is the hospital stay after a transplant", "G-CSF side effects")


class FixedTriager:
    """Routes every question to one category."""

    def __init__(self, category: str) -> None:
        self.category = category

    def decide(self, question, vector, earlier=(), earlier_vectors=()) -> Triage:
        flags = (self.category,) if self.category != "general" else ()
        return Triage(self.category, f"fixed: {self.category}", flags)


@pytest.fixture
def hnsw_settings(tmp_path, fake_embedder):
    settings = make_settings(tmp_path, ann_threshold=1)  # every index is an HNSW graph
    run_build(settings, embedder=fake_embedder)
    return settings


def _engine(settings, embedder, triage=None, overlap=True) -> QAEngine:
    engine = QAEngine(load_index(settings.index_dir, expected_model=settings.model), embedder,
                      settings.model_copy(update={"answer_cache_size": 0}), triage=triage)
    assert engine.retriever.overlap  # decided by the index: an HNSW graph
    engine.retriever.overlap = overlap
    return engine


def test_side_thread_gives_the_same_answers_as_one_thread(hnsw_settings, fake_embedder):
    overlapped = _engine(hnsw_settings, fake_embedder, FixedTriager("general"))
    sequential = _engine(hnsw_settings, fake_embedder, FixedTriager("general"), overlap=False)
    for question in QUESTIONS:
        a, b = overlapped.ask(question), sequential.ask(question)
        assert (a.kind, a.quotes, a.related, a.disclaimers) == (b.kind, b.quotes, b.related,
                                                                b.disclaimers)
    assert any(overlapped.ask(q).quotes for q in QUESTIONS)


@pytest.mark.parametrize("category", ["emergency", "out_of_scope"])
def test_triage_verdict_still_decides_before_anything_is_quoted(hnsw_settings, fake_embedder,
                                                                category):
    engine = _engine(hnsw_settings, fake_embedder, FixedTriager(category))
    answer = engine.ask(QUESTIONS[0])
    assert answer.kind == category
    assert answer.quotes == ()


def test_a_side_thread_error_reaches_the_caller(hnsw_settings, fake_embedder):
    class Broken:
        def decide(self, question, vector, earlier=(), earlier_vectors=()):
            raise RuntimeError("triage failed")

    engine = _engine(hnsw_settings, fake_embedder, Broken())
    with pytest.raises(RuntimeError, match="triage failed"):
        engine.ask(QUESTIONS[0])


FORK_CHECK = """
import os
from qa.retrieval.overlap import pool
parent = pool()
assert parent.submit(lambda: 1).result() == 1
pid = os.fork()
if pid == 0:  # the child: the parent's threads did not survive the fork
    child = pool()
    os._exit(0 if child is not parent and child.submit(lambda: 2).result(timeout=10) == 2 else 1)
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0 and pool() is parent
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="serving workers fork only on POSIX")
def test_a_forked_worker_gets_its_own_pool():
    """Run in a fresh interpreter: forking the (threaded) test process itself is unsafe."""
    result = subprocess.run([sys.executable, "-c", FORK_CHECK], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr


def test_concurrent_questions_share_the_side_pool_without_mixing_answers(hnsw_settings,
                                                                        fake_embedder):
    from concurrent.futures import ThreadPoolExecutor

    engine = _engine(hnsw_settings, fake_embedder, FixedTriager("general"))
    expected = {q: engine.ask(q).quotes for q in QUESTIONS}
    asked = list(QUESTIONS) * 12  # more concurrent questions than side threads
    with ThreadPoolExecutor(8) as clients:
        answers = list(clients.map(engine.ask, asked))
    assert [a.quotes for a in answers] == [expected[q] for q in asked]
