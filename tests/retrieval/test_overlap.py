"""Triage and BM25 beside the dense search (HNSW indexes): same answers, safety still first."""

from __future__ import annotations

import os

import pytest

from qa.indexing.build import run_build
from qa.domain import Triage
from qa.engine import QAEngine
from qa.indexing.layout import load_index
from qa.retrieval.overlap import side_pool
from qa.stage_clock import STAGES, StageClock
from tests.conftest import make_settings

QUESTIONS = ("How are mesenchymal stromal cells given?", "what is apheresis",
             "how long is the hospital stay after a transplant", "G-CSF side effects")


class FixedTriager:
    """Routes every question to one category."""

    def __init__(self, category: str) -> None:
        self.category = category

    def decide(self, question, vector) -> Triage:
        flags = (self.category,) if self.category != "general" else ()
        return Triage(self.category, f"fixed: {self.category}", flags)


@pytest.fixture
def hnsw_settings(tmp_path, fake_embedder):
    settings = make_settings(tmp_path, ann_threshold=1)  # every index is an HNSW graph
    run_build(settings, embedder=fake_embedder)
    return settings


def _engine(settings, embedder, triager=None, overlap=True) -> QAEngine:
    engine = QAEngine(load_index(settings.index_dir, expected_model=settings.model), embedder,
                      settings.model_copy(update={"answer_cache_size": 0}), triager=triager)
    assert engine.overlap_side_work  # decided by the index: an HNSW graph
    engine.overlap_side_work = overlap
    return engine


def test_side_thread_gives_the_same_answers_as_one_thread(hnsw_settings, fake_embedder):
    overlapped = _engine(hnsw_settings, fake_embedder, FixedTriager("general"))
    sequential = _engine(hnsw_settings, fake_embedder, FixedTriager("general"), overlap=False)
    for question in QUESTIONS:
        a, b = overlapped.ask(question), sequential.ask(question)
        assert (a.kind, a.quotes, a.related, a.disclaimers) == (b.kind, b.quotes, b.related,
                                                                b.disclaimers)
    assert any(overlapped.ask(q).quotes for q in QUESTIONS)


def test_clock_shows_the_wait_and_records_the_side_work_beside_it(hnsw_settings, fake_embedder):
    engine = _engine(hnsw_settings, fake_embedder, FixedTriager("general"))
    clock = StageClock()
    answer = engine.ask(QUESTIONS[0], clock=clock)
    assert answer.kind == "answer"
    assert tuple(clock.laps) == ("normalise", "embed", "dense", "wait", "fusion", "compose")
    assert [s for s in STAGES if s in clock.laps] == list(clock.laps)
    assert set(clock.asides) == {"triage", "bm25", "terms"} and all(v >= 0 for v in clock.asides.values())


@pytest.mark.parametrize("category", ["emergency", "out_of_scope"])
def test_triage_verdict_still_decides_before_anything_is_quoted(hnsw_settings, fake_embedder,
                                                                category):
    engine = _engine(hnsw_settings, fake_embedder, FixedTriager(category))
    answer = engine.ask(QUESTIONS[0])
    assert answer.kind == category
    assert answer.quotes == ()


def test_a_side_thread_error_reaches_the_caller(hnsw_settings, fake_embedder):
    class Broken:
        def decide(self, question, vector):
            raise RuntimeError("triage failed")

    engine = _engine(hnsw_settings, fake_embedder, Broken())
    with pytest.raises(RuntimeError, match="triage failed"):
        engine.ask(QUESTIONS[0])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX-only")
def test_a_forked_worker_gets_its_own_side_pool():
    parent = side_pool()
    assert parent.submit(lambda: 1).result() == 1
    pid = os.fork()
    if pid == 0:  # the child: the parent's threads did not survive the fork
        ok = False
        try:
            child = side_pool()
            ok = child is not parent and child.submit(lambda: 2).result(timeout=10) == 2
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert side_pool() is parent


def test_concurrent_questions_share_the_side_pool_without_mixing_answers(hnsw_settings,
                                                                        fake_embedder):
    from concurrent.futures import ThreadPoolExecutor

    engine = _engine(hnsw_settings, fake_embedder, FixedTriager("general"))
    expected = {q: engine.ask(q).quotes for q in QUESTIONS}
    asked = list(QUESTIONS) * 12  # more concurrent questions than side threads
    with ThreadPoolExecutor(8) as clients:
        answers = list(clients.map(engine.ask, asked))
    assert [a.quotes for a in answers] == [expected[q] for q in asked]
