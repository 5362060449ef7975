"""The answer cache and the per-stage clock: repeated questions skip the model, stages add up."""

from qa.engine import QAEngine
from qa.cache import BoundedLRU
from qa.stage_clock import STAGES, StageClock
from tests.fakes import HashEmbedder


def engine_with(fake_engine, **overrides) -> tuple[QAEngine, HashEmbedder]:
    embedder = HashEmbedder()
    settings = fake_engine.settings.model_copy(update=overrides)
    return QAEngine(fake_engine.index, embedder, settings), embedder


def test_repeated_question_is_answered_from_the_cache(fake_engine):
    engine, embedder = engine_with(fake_engine)
    first = engine.ask("How are mesenchymal stromal cells given?")
    calls = embedder.calls
    again = engine.ask("  How are   mesenchymal stromal cells given?\u200b")  # same once normalised
    assert embedder.calls == calls  # the model was not asked again
    assert again.quotes == first.quotes and again.disclaimers == first.disclaimers
    assert again.kind == first.kind


def test_cache_size_zero_recomputes_every_time(fake_engine):
    engine, embedder = engine_with(fake_engine, answer_cache_size=0)
    engine.ask("what is apheresis")
    calls = embedder.calls
    engine.ask("what is apheresis")
    assert embedder.calls == calls + 1
    assert len(engine.answers) == 0


def test_cache_is_bounded_and_evicts_the_least_recent(fake_engine):
    engine, embedder = engine_with(fake_engine, answer_cache_size=2)
    for question in ("what is apheresis", "how are cells given", "what is conditioning"):
        engine.ask(question)
    assert len(engine.answers) == 2
    calls = embedder.calls
    engine.ask("what is conditioning")  # kept: no model call
    assert embedder.calls == calls
    engine.ask("what is apheresis")  # the least recent was evicted: asked again
    assert embedder.calls == calls + 1 and len(engine.answers) == 2


def test_a_new_engine_for_a_new_index_starts_with_an_empty_cache(fake_engine):
    fake_engine.ask("what is apheresis")
    assert len(fake_engine.answers) == 1
    swapped = QAEngine(fake_engine.index, fake_engine.embedder, fake_engine.settings)
    assert len(swapped.answers) == 0


def test_stage_clock_sees_every_stage_of_an_answer_in_order(fake_engine):
    engine, _ = engine_with(fake_engine, answer_cache_size=0)
    clock = StageClock()
    answer = engine.ask("How are mesenchymal stromal cells given?", clock=clock)
    assert answer.kind == "answer"
    assert tuple(clock.laps) == ("normalise", "embed", "rankings", "fusion", "compose")
    assert [s for s in STAGES if s in clock.laps] == list(clock.laps)
    assert all(ms >= 0 for ms in clock.laps.values())


def test_stage_clock_shows_a_cache_hit(fake_engine):
    fake_engine.ask("what is apheresis")
    clock = StageClock()
    fake_engine.ask("what is apheresis", clock=clock)
    assert tuple(clock.laps) == ("normalise", "cache")


def test_bounded_lru_keeps_recently_used_entries():
    cache: BoundedLRU[int] = BoundedLRU(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the most recent
    cache.put("c", 3)
    assert cache.get("b") is None and cache.get("a") == 1 and cache.get("c") == 3
    assert len(cache) == 2
    disabled: BoundedLRU[int] = BoundedLRU(0)
    disabled.put("a", 1)
    assert disabled.get("a") is None and len(disabled) == 0
