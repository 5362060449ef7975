"""The conversation, spelling and brand batches in eval/conversation/blind*/ are frozen: each
folder's SHA256SUMS pins every file a writer wrote, so an edit after measuring shows up here."""

import hashlib

import pytest

from tests.conftest import ROOT

FOLDERS = sorted((ROOT / "eval" / "conversation").glob("blind*"))


def test_there_are_frozen_batches():
    assert len(FOLDERS) >= 24


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda folder: folder.name)
def test_each_conversation_batch_matches_its_checksums(folder):
    recorded = dict(line.split()[::-1] for line in
                    (folder / "SHA256SUMS").read_text().splitlines() if line.strip())
    for name, digest in recorded.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
    assert set(recorded) == {p.name for p in folder.glob("*.jsonl")}
