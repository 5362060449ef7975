"""The names of medicines, brand and generic, as the spelling dictionary's list of real words.

The library names only the medicines its documents discuss, and symspellpy's English list names
almost none, so without another list the speller takes a medicine it has never seen for a typing
slip and "corrects" it into an everyday word ("Ozempic" into "olympic", "Questran" into
"question"). drug-named-entity-recognition (Fast Data Science, MIT licence) is a maintained
dictionary of about a hundred thousand drug names and variants, mainly from DrugBank's open
vocabulary with the NHS, MeSH, MedlinePlus, PubChem and Wikipedia, each with its generic name.
It is read once, when the index is built, and the one-word names are stored in the build beside
the vocabulary.
"""

from __future__ import annotations

import re
from functools import lru_cache

from qa.text import fold

_NAME = re.compile(r"^[a-z]{4,}$")  # the speller's words: letters only, long enough to correct


@lru_cache(maxsize=1)
def drug_names() -> dict[str, list[str]]:
    """Every one-word drug name (folded) → the first words of its generic names, which is what
    two spellings of one medicine share ("gilenia": fingolimod hydrochloride, "gilenya":
    fingolimod). Read once per process (a build in the tests, a rebuild after reload): callers
    must not change it."""
    # Imported here: the package reads its whole dictionary on import (about a second), which
    # only a build needs.
    from drug_named_entity_recognition import drugs_finder

    names: dict[str, set[str]] = {}
    for variant, generics in drugs_finder.drug_variant_to_canonical.items():
        name = fold(variant)
        if not _NAME.match(name):
            continue
        firsts = {fold(generic).split()[0] for generic in generics if generic.strip()}
        if firsts:
            names.setdefault(name, set()).update(firsts)
    return {name: sorted(firsts) for name, firsts in sorted(names.items())}
