"""The batching loop: texts of similar length share a batch, rows come back in the order given."""

from __future__ import annotations

import numpy as np

from qa.encoders.base import encode_in_batches


def _fake_batch(seen: list[list[str]]):
    def encode_batch(batch: list[str]) -> np.ndarray:
        seen.append(batch)
        # Row i says which text it was made from: its length, and a second coordinate of 1.
        return np.array([[float(len(t)), 1.0] for t in batch], dtype=np.float32)
    return encode_batch


def test_rows_come_back_in_the_order_given():
    texts = ["a" * 9, "b", "c" * 5, "d" * 2, "e" * 7]
    rows = encode_in_batches(_fake_batch([]), texts, batch_size=2, dimension=2, progress=None)
    expected = np.array([[len(t), 1.0] for t in texts], dtype=np.float32)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(rows, expected, rtol=1e-6)


def test_similar_lengths_share_a_batch_and_progress_counts_every_text():
    seen: list[list[str]] = []
    counted: list[int] = []
    texts = ["long text here", "x", "another long one", "y"]
    encode_in_batches(_fake_batch(seen), texts, batch_size=2, dimension=2, progress=counted.append)
    assert seen == [["x", "y"], ["long text here", "another long one"]]
    assert sum(counted) == len(texts)


def test_no_texts_gives_an_empty_matrix_of_the_right_width():
    assert encode_in_batches(_fake_batch([]), [], batch_size=4, dimension=3,
                             progress=None).shape == (0, 3)
