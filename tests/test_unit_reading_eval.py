"""bench/unit_reading_eval.py counts, for each kind of message its writer meant, the replies that
name myasthenia gravis and those that quote its document first: the figures in docs/ count what
they say."""

from types import SimpleNamespace

from bench import unit_reading_eval


def _reply(concepts: tuple[str, ...], first_document: str | None) -> SimpleNamespace:
    quotes = [] if first_document is None else [
        SimpleNamespace(source=SimpleNamespace(document_id=first_document))]
    return SimpleNamespace(concepts=concepts, quotes=quotes)


def test_replies_are_counted_by_what_the_writer_meant():
    replies = {
        "my MG is worse": _reply(("myasthenia gravis",), "myasthenia-gravis-stem-cells"),
        "MG and hsct?": _reply(("myasthenia gravis", "ahsct"), "ahsct-pathway"),
        "20 mg of pred": _reply(("myasthenia gravis",), "myasthenia-gravis-stem-cells"),
        "how many mg of vit d": _reply((), None),
        "5mg a day ok?": _reply(("prednisone",), "medicines-before-and-after-ahsct"),
    }
    cases = [{"question": q, "about_myasthenia": q.startswith(("my MG", "MG "))} for q in replies]
    counts = unit_reading_eval.tally(replies.__getitem__, cases)
    assert counts[True] == [2, 2, 1]
    assert counts[False] == [3, 1, 1]
