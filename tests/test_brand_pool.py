"""bench/brand_pool.py pools every labelled brand batch: the read batches against their second
labeller where one exists, every batch with one label line per question, so the pooled figure
in docs/ counts what it says it counts."""

from bench import brand_pool


def test_every_labelled_brand_batch_is_pooled_with_a_label_for_every_question():
    found = {split: (questions, labels) for split, questions, labels in brand_pool.batches()}
    # the oldest batch, a read one without a second labeller, and the freshest
    assert {"blind", "blind25", "blind62"} <= set(found)
    for split, (questions, labels) in found.items():
        assert len(brand_pool.read_lines(questions)) == len(brand_pool.read_lines(labels)), split
        second = questions.parent.parent / "audit" / f"{questions.stem}-second-labeller.jsonl"
        uses_second = labels.parent.name == "audit"
        assert uses_second == (split in brand_pool.DEVELOPMENT_POOL and second.exists()), split
