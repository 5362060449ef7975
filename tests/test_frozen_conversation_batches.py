"""The conversation, spelling and brand batches in eval/conversation/blind*/, and the unit
batches in eval/units/blind*/, are frozen: each folder's SHA256SUMS pins every file a writer
wrote, so an edit after measuring shows up here."""

import pytest

from tests.conftest import ROOT
from tests.frozen import assert_frozen

FOLDERS = sorted((ROOT / "eval" / "conversation").glob("blind*")) \
    + sorted((ROOT / "eval" / "units").glob("blind*"))


def test_there_are_frozen_batches():
    assert len(FOLDERS) >= 24


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda folder: folder.name)
def test_each_conversation_batch_matches_its_checksums(folder):
    assert_frozen(folder)
