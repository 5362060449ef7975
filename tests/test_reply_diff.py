"""bench/reply_diff.py's comparison: counts what changed by group and field, refuses dumps of
different messages, and never prints a blind split's corrections (a blind text stays unread)."""

import json

import pytest

from bench.reply_diff import compare


def _reply(corrections=(), passages=("p1",), kind="answer"):
    return {"kind": kind, "triage": {"category": "general"}, "flags": [],
            "corrections": [{"from": a, "to": b} for a, b in corrections],
            "understood_as": None, "message": "",
            "quotes": [{"passage_id": p, "text": "t"} for p in passages]}


def _dump(path, rows):
    path.write_text("".join(json.dumps({"source": source, "reply": reply}) + "\n"
                            for source, reply in rows), encoding="utf-8")


DEV = {"group": "conversation", "split": "dev", "file": "eval/conversation/dev/m.jsonl",
       "key": "question"}
BLIND = {"group": "conversation", "split": "blind9", "file": "eval/conversation/blind9/m.jsonl",
         "key": "question"}


def test_changes_are_counted_by_group_and_field_and_blind_texts_stay_unprinted(tmp_path, capsys):
    _dump(tmp_path / "a.jsonl", [(DEV, _reply()), (BLIND, _reply()), (DEV, _reply())])
    _dump(tmp_path / "b.jsonl", [(DEV, _reply([("teh", "the")])),
                                 (BLIND, _reply([("secret", "word")], ("p2",))),
                                 (DEV, _reply())])
    compare(tmp_path / "a.jsonl", tmp_path / "b.jsonl", show=10)
    out = capsys.readouterr().out
    assert "3 replies; 2 changed" in out
    assert "teh" in out and "secret" not in out
    assert "conversation (blind)   quoted passages    1" in out
    assert "conversation           corrections        1" in out


def test_dumps_of_different_messages_are_refused(tmp_path):
    _dump(tmp_path / "a.jsonl", [(DEV, _reply())])
    _dump(tmp_path / "b.jsonl", [(DEV, _reply()), (DEV, _reply())])
    with pytest.raises(SystemExit, match="hold 1 and 2 replies"):
        compare(tmp_path / "a.jsonl", tmp_path / "b.jsonl", show=10)
