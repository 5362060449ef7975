"""The highlighted sentences are the same in every server process: near-tied sentences used to
be ranked by a float sum whose rounding followed the set's iteration order, which follows
Python's per-process string hashing."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = r"""
import json
from qa.answering.highlight import highlight, terms
from qa.domain import Passage

# Three sentences whose word lengths (3, 4 and 6 letters) weigh the same: only rounding can
# tell them apart, and the plain sum of these three weights rounds differently by order.
text = "Fox wolf badger. Elk lynx weasel. Yak mole ferret."
sentences = ((0, 16), (17, 33), (34, 50))
passage = Passage("p", "d", "t", "s", text, 0, len(text), sentences)
query = terms("fox wolf badger elk lynx weasel yak mole ferret")
assert all(len(t) in (3, 4, 6) for t in query) and len(query) == 9, query
print(json.dumps(highlight(passage, query)))
"""


def test_highlights_do_not_depend_on_the_hash_seed():
    results = set()
    for seed in range(12):
        env = os.environ | {"PYTHONHASHSEED": str(seed)}
        done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=ROOT,
                              capture_output=True, text=True, check=True)
        results.add(json.dumps(json.loads(done.stdout)))
    assert len(results) == 1, results
