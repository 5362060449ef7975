"""Calls to action are a site selling itself; advice to see one's own clinician is kept."""

import pytest

from qa.ingest.boilerplate import BoilerplateFilter
from qa.settings import PACKAGE_DATA

FILTER = BoilerplateFilter.from_file(PACKAGE_DATA / "boilerplate.yaml")


@pytest.mark.parametrize("sentence", [
    "Book your free consultation with us today.",
    "Schedule a consultation with our stem cell specialists.",
    "Call us on 0800 000 000 to find out more.",
    "Contact us now for pricing.",
    "Request a free assessment from our medical team.",
    "Book now and save 20% on your first infusion.",
    "Sign up for our newsletter.",
    "This website uses cookies.",
    "Visit our clinic in Cancun.",
])
def test_a_site_selling_its_services_is_dropped(sentence):
    assert FILTER.matches(sentence)


@pytest.mark.parametrize("sentence", [
    "If the top number is greater than 140 or the bottom number is greater than 90, schedule an "
    "appointment with your provider.",
    "Book an appointment with your GP if the rash does not fade.",
    "If you have a fever after your transplant, call now: do not wait until the morning.",
    "Call your transplant team's 24-hour line if your temperature is 38 °C or higher.",
    "Ask your neurologist to arrange an assessment at a transplant centre.",
    "Contact your doctor today if you notice new bruises.",
])
def test_advice_to_see_ones_own_clinician_is_kept(sentence):
    assert not FILTER.matches(sentence)
