"""End to end through the `qa` command with the real model: build, ask, search, clean errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURE_CORPUS, SAMPLE_ARTICLE

pytestmark = pytest.mark.model  # every test here runs `qa` with the real model

ENV = {k: v for k, v in os.environ.items() if not k.startswith("QA_")} | {"HF_HUB_OFFLINE": "1"}


def qa(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qa", *args], capture_output=True, text=True,
                          timeout=300, env=env or ENV)


def assert_one_line_error(result: subprocess.CompletedProcess, fragment: str) -> None:
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], lines


@pytest.fixture(scope="module")
def built_index(tmp_path_factory) -> Path:
    index = tmp_path_factory.mktemp("cli") / "index"
    corpus = [str(FIXTURE_CORPUS)] + ([str(SAMPLE_ARTICLE)] if SAMPLE_ARTICLE.exists() else [])
    args = ["build", "--index", str(index)]
    for path in corpus:
        args += ["--corpus", path]
    result = qa(*args)
    assert result.returncode == 0, result.stderr
    summary = result.stdout.strip().splitlines()[-1]
    assert "documents" in summary and "re-embedded" in summary and "boilerplate" in summary
    # two JSONL lines in the fixture are bad: one warning each, and the build went on
    assert result.stderr.count("warning: ") == 2
    if SAMPLE_ARTICLE.exists():
        assert "1 boilerplate sentences dropped" in summary
    return index


def test_ask_json_prints_exactly_the_api_shape(built_index):
    result = qa("ask", "what is apheresis?", "--index", str(built_index), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["kind"] == "answer"
    assert data["quotes"][0]["source"]["document_id"] == "apheresis-test"
    assert any(d["code"] == "general" for d in data["disclaimers"])


def test_ask_timings_show_the_stages_in_order(built_index):
    result = qa("ask", "what is apheresis?", "--index", str(built_index), "--timings")
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stderr.splitlines() if x.startswith("normalise "))
    stages = [part.split()[0] for part in line.split("  ")]
    assert stages == ["normalise", "embed", "rankings", "fusion", "compose"]


def test_ask_text_and_sample_article_never_quotes_its_call_to_action(built_index):
    result = qa("ask", "where can I get stem cell clinic treatment, contact details?",
                "--index", str(built_index))
    assert result.returncode == 0, result.stderr
    assert "make contact with us" not in result.stdout and "webpage" not in result.stdout


def test_search_writes_a_trec_run(built_index, tmp_path):
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"qid": "q1", "question": "thyroid problems after transplant"}\n'
                       '{"qid": "q2", "question": "how are mesenchymal stromal cells given"}\n')
    result = qa("search", "--queries", str(queries), "--index", str(built_index), "--top-k", "3")
    assert result.returncode == 0, result.stderr
    lines = [line.split() for line in result.stdout.strip().splitlines()]
    assert lines[0][:2] == ["q1", "Q0"] and lines[0][3] == "1"
    # the undated JSONL fixture carries the provenance prior, so it need not be first
    assert "jsonl-thyroid" in [parts[2] for parts in lines if parts[0] == "q1"]
    assert all(len(parts) == 6 and parts[1] == "Q0" for parts in lines)
    for qid in ("q1", "q2"):
        ranks = [int(parts[3]) for parts in lines if parts[0] == qid]
        assert ranks == list(range(1, len(ranks) + 1)) and len(ranks) <= 3
    assert [parts[2] for parts in lines if parts[0] == "q2"][0] == "msc-basics"
    jsonl = qa("search", "--queries", str(queries), "--index", str(built_index), "--format", "jsonl")
    first = json.loads(jsonl.stdout.splitlines()[0])
    assert first["qid"] == "q1" and first["results"][0]["rank"] == 1
    assert "jsonl-thyroid" in [r["document_id"] for r in first["results"]]


def test_missing_index_is_one_line_and_exit_1(tmp_path):
    assert_one_line_error(qa("ask", "what is MSC", "--index", str(tmp_path / "none")), "qa build")


def test_corrupt_index_is_one_line_and_exit_1(built_index, tmp_path):
    import shutil

    copy = tmp_path / "index"
    shutil.copytree(built_index, copy, symlinks=True)
    build = (copy / "current").resolve()
    (build / "passages.jsonl").write_text("garbage")
    assert_one_line_error(qa("ask", "what is MSC", "--index", str(copy)), "rebuild")


def test_empty_corpus_is_one_line_and_exit_1(tmp_path):
    (tmp_path / "corpus").mkdir()
    result = qa("build", "--corpus", str(tmp_path / "corpus"), "--index", str(tmp_path / "i"))
    assert_one_line_error(result, "no usable document")


def test_bad_setting_is_one_line_and_exit_1(tmp_path):
    result = qa("ask", "hello", env=ENV | {"QA_TOP_K": "lots"})
    assert_one_line_error(result, "top_k")


def test_bad_queries_file_is_one_line_and_exit_1(built_index, tmp_path):
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"qid": "q1"}\n')
    result = qa("search", "--queries", str(queries), "--index", str(built_index))
    assert_one_line_error(result, "q.jsonl:1")
