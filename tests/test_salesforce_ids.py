"""``journey.salesforce_ids`` against the emulated org's own, independent copy of the
checksum: every 15-character ID gets the suffix the org gives it, an 18-character ID that
lost its letter case comes back whole, and one changed character is caught."""

from __future__ import annotations

import random
import string

import pytest

from journey.emulator.ids import mint, to_18
from journey.salesforce_ids import InvalidSalesforceIdError, case_safe, person_id

ALPHANUMERIC = string.ascii_letters + string.digits


def random_ids(count: int) -> list[str]:
    rng = random.Random(11)
    return ["".join(rng.choice(ALPHANUMERIC) for _ in range(15)) for _ in range(count)]


@pytest.mark.parametrize("id15", random_ids(300))
def test_the_suffix_is_the_orgs(id15: str) -> None:
    full = to_18(id15)
    assert case_safe(id15) == full
    assert case_safe(full) == full
    assert case_safe(full.lower()) == full
    assert case_safe(full.upper()) == full


def test_a_changed_letter_case_is_a_checksum_error() -> None:
    full = mint("Lead", 12345)
    flipped = full[:3] + full[3:15].swapcase() + full[15:]
    assert flipped[:15] != full[:15]
    with pytest.raises(InvalidSalesforceIdError, match="checksum"):
        case_safe(flipped)


def test_only_leads_and_contacts_are_people() -> None:
    assert person_id(mint("Lead", 7)).sobject == "Lead"
    assert person_id(mint("Contact", 7)[:15]).sobject == "Contact"
    with pytest.raises(InvalidSalesforceIdError, match="a Campaign's ID"):
        person_id(mint("Campaign", 7))
