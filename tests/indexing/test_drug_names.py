"""The drug names the speller treats as real words come from drug-named-entity-recognition."""

import re

from qa.indexing.drug_names import drug_names


def test_brand_and_generic_names_are_listed_with_their_generic_name():
    names = drug_names()
    assert names["ozempic"] == ["semaglutide"]
    assert "cholestyramine" in names["questran"]
    assert set(names["gilenia"]) & set(names["gilenya"])  # two spellings of fingolimod
    assert "lupus" not in names and "transplant" not in names


def test_only_one_word_letter_names_the_speller_could_be_asked_to_correct_are_kept():
    assert all(re.fullmatch(r"[a-z]{4,}", name) and generics
               for name, generics in drug_names().items())
