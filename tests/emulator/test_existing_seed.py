"""The seed holds records as a real org does, converted Leads included (``LeadConvert``)."""

from __future__ import annotations

import pytest

from journey.emulator import EmulatedOrg, SeedError
from tests.existing_org import PEOPLE, existing_seed


def test_a_seeded_conversion_freezes_the_lead_and_makes_its_contact(
    existing_org: EmulatedOrg,
) -> None:
    sf = existing_org.client()
    lead = sf.query(
        "SELECT IsConverted, Status, ConvertedContactId, ConvertedAccountId, "
        f"ConvertedOpportunityId FROM Lead WHERE Email = '{PEOPLE['converted']}'"
    )["records"][0]
    assert lead["IsConverted"] is True
    assert lead["Status"] == "Closed - Converted"
    assert lead["ConvertedOpportunityId"] is None
    contact = sf.Contact.get(lead["ConvertedContactId"])
    assert contact["Email"] == PEOPLE["converted"]
    assert sf.Account.get(lead["ConvertedAccountId"])["Name"] == "Initech"


def test_a_conversion_of_an_unknown_lead_names_the_entry() -> None:
    seed = existing_seed()
    seed["LeadConvert"] = [{"lead": "#nobody"}]
    with pytest.raises(SeedError, match="nobody"):
        EmulatedOrg(seed=seed).start()
    seed["LeadConvert"] = [{"lead": "#to_convert"}, {"lead": "#to_convert"}]
    with pytest.raises(SeedError, match=r"LeadConvert\[1\]: CANNOT_UPDATE_CONVERTED_LEAD"):
        EmulatedOrg(seed=seed).start()
