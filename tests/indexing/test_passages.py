"""The memory-mapped passage store reads back exactly the passages the build wrote."""

import json
from pathlib import Path

import pytest

from qa.domain import Passage
from qa.indexing.passages import PassageStore


def passage(n: int, text: str) -> Passage:
    return Passage(id=f"doc-{n}#0", document_id=f"doc-{n}", title="Título ✓", section="Part",
                   text=text, start=0, end=len(text), sentences=((0, len(text)),),
                   urls=("https://example.org",), source_names=("NIH",),
                   reviewed="2026-01-01" if n % 2 else None, topics=("safety",))


PASSAGES = [passage(0, "plain text"), passage(1, "a line\nbreak inside, and ünïcödé"),
            passage(2, 'quotes " and \\ backslash'), passage(3, "the last one")]


def write(path: Path, passages: list[Passage], final_newline: bool = True) -> Path:
    text = "\n".join(json.dumps(p.to_json(), ensure_ascii=False) for p in passages)
    path.write_text(text + ("\n" if final_newline else ""), encoding="utf-8")
    return path


@pytest.mark.parametrize("final_newline", [True, False])
def test_the_store_reads_back_every_passage_in_order(tmp_path, final_newline):
    store = PassageStore.open(write(tmp_path / "p.jsonl", PASSAGES, final_newline))
    assert len(store) == len(PASSAGES)
    assert list(store) == PASSAGES
    assert [store[i] for i in range(len(store))] == PASSAGES
    assert store[-1] == PASSAGES[-1] and store[1:3] == PASSAGES[1:3]


def test_rows_out_of_range_raise_index_error(tmp_path):
    store = PassageStore.open(write(tmp_path / "p.jsonl", PASSAGES))
    for row in (len(PASSAGES), -len(PASSAGES) - 1):
        with pytest.raises(IndexError):
            store[row]


def test_an_empty_file_is_an_empty_store(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_bytes(b"")
    store = PassageStore.open(path)
    assert len(store) == 0 and list(store) == [] and not store


def test_decoded_passages_are_cached_up_to_the_bound(tmp_path):
    store = PassageStore.open(write(tmp_path / "p.jsonl", PASSAGES), cache_size=2)
    first = store[0]
    assert store[0] is first  # served from the cache, not decoded again
    store[1], store[2]  # two more rows evict row 0, the least recently used
    assert store[0] is not first and store[0] == first
    uncached = PassageStore.open(tmp_path / "p.jsonl", cache_size=0)
    assert uncached[0] is not uncached[0] and uncached[0] == first
