"""Lead assignment rules: run on create and update unless ``Sforce-Auto-Assign: FALSE``;
"Do Not Reassign Owner" entries; the connected user as the default owner."""

from __future__ import annotations

from simple_salesforce.api import Salesforce

NO_RULES = {"Sforce-Auto-Assign": "FALSE"}


def owner(sf: Salesforce, lead_id: str) -> str:
    record = sf.query(f"SELECT Owner.Email FROM Lead WHERE Id = '{lead_id}'")["records"][0]
    return str(record["Owner"]["Email"])


def test_rules_run_on_create_without_the_header(sf: Salesforce) -> None:
    german = sf.Lead.create({"LastName": "Muller", "Company": "GmbH", "Country": "Germany"})["id"]
    assert owner(sf, german) == "emea@acme.example"  # the queue
    assert sf.Lead.get(german)["OwnerId"].startswith("00G")
    nobody = sf.Lead.create({"LastName": "Smith", "Company": "Ltd", "Country": "UK"})["id"]
    assert owner(sf, nobody) == "ann@acme.example"  # no match: the connected user


def test_the_header_false_skips_the_rules(sf: Salesforce) -> None:
    lead_id = sf.Lead.create(
        {"LastName": "Muller", "Company": "GmbH", "Country": "Germany"}, headers=NO_RULES
    )["id"]
    assert owner(sf, lead_id) == "ann@acme.example"
    bob = sf.query("SELECT Id FROM User WHERE Email = 'bob@acme.example'")["records"][0]["Id"]
    sf.Lead.update(lead_id, {"OwnerId": bob}, headers=NO_RULES)
    assert owner(sf, lead_id) == "bob@acme.example"
    # The same update without the header: the rules take the lead back to the queue.
    sf.Lead.update(lead_id, {"Title": "Buyer"})
    assert owner(sf, lead_id) == "emea@acme.example"


def test_do_not_reassign_owner_keeps_an_existing_owner(sf: Salesforce) -> None:
    bob = sf.query("SELECT Id FROM User WHERE Email = 'bob@acme.example'")["records"][0]["Id"]
    lead_id = sf.Lead.create(
        {"LastName": "Dupont", "Company": "SA", "Country": "France", "OwnerId": bob}
    )["id"]
    assert owner(sf, lead_id) == "bob@acme.example"  # entry says do not reassign
    fresh = sf.Lead.create({"LastName": "Martin", "Company": "SARL", "Country": "France"})["id"]
    assert owner(sf, fresh) == "eva@acme.example"  # no owner yet: the entry assigns
    # An update that makes an earlier entry match re-assigns, even with an owner.
    sf.Lead.update(lead_id, {"Country": "Germany"})
    assert owner(sf, lead_id) == "emea@acme.example"


def test_rules_see_the_values_of_the_update(sf: Salesforce) -> None:
    lead_id = sf.Lead.create({"LastName": "Rich", "Company": "Big"})["id"]
    assert owner(sf, lead_id) == "ann@acme.example"
    sf.Lead.update(lead_id, {"AnnualRevenue": 5_000_000})
    assert owner(sf, lead_id) == "bob@acme.example"


def test_batches_honour_the_header(sf: Salesforce) -> None:
    german = {
        "attributes": {"type": "Lead"},
        "LastName": "Kurz",
        "Company": "AG",
        "Country": "Germany",
    }
    plain = sf.restful("composite/sobjects", method="POST", json={"records": [german]})
    skipped = sf.restful(
        "composite/sobjects", method="POST", json={"records": [german]}, headers=NO_RULES
    )
    assert owner(sf, plain[0]["id"]) == "emea@acme.example"
    assert owner(sf, skipped[0]["id"]) == "ann@acme.example"
    answer = sf.restful(
        "composite",
        method="POST",
        headers=NO_RULES,
        json={
            "compositeRequest": [
                {
                    "method": "POST",
                    "referenceId": "l",
                    "url": "/services/data/v59.0/sobjects/Lead",
                    "body": {"LastName": "Lang", "Company": "AG", "Country": "Germany"},
                }
            ]
        },
    )
    assert owner(sf, answer["compositeResponse"][0]["body"]["id"]) == "ann@acme.example"


def test_bulk_runs_the_rules_only_when_asked(sf: Salesforce) -> None:
    sf.bulk2.Lead.insert(
        records=[{"LastName": "Bulk", "Company": "AG", "Country": "Germany"}], wait=0
    )
    found = sf.query("SELECT Owner.Email FROM Lead WHERE LastName = 'Bulk'")["records"]
    assert found[0]["Owner"]["Email"] == "ann@acme.example"
