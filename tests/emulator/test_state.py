"""State that outlives the process: a restarted org keeps its records, session, API count
and certificates, and is not seeded twice; seeds are checked and explained."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from journey.emulator import EmulatedOrg, SeedError
from tests.emulated_org import SEED


def test_restart_with_a_state_folder(tmp_path: Path) -> None:
    with EmulatedOrg(tmp_path, SEED) as first:
        sf = first.client()
        lead_id = sf.Lead.create({"LastName": "Kept", "Company": "Disk"})["id"]
        sf.Lead.delete(sf.Lead.create({"LastName": "Binned", "Company": "Disk"})["id"])
        session, calls = first.session_id, first.api_calls
        ca = (tmp_path / "ca.pem").read_bytes()

    with EmulatedOrg(tmp_path, {"Lead": [{"LastName": "Ignored", "Company": "X"}]}) as second:
        sf = second.client()
        assert second.session_id == session
        assert sf.Lead.get(lead_id)["Name"] == "Kept"
        names = {r["LastName"] for r in sf.query("SELECT LastName FROM Lead")["records"]}
        assert names == {"Doe", "Kept"}  # seeded once: the new seed is not applied
        binned = sf.query_all(
            "SELECT LastName FROM Lead WHERE IsDeleted = TRUE", include_deleted=True
        )
        assert [r["LastName"] for r in binned["records"]] == ["Binned"]
        assert second.api_calls == calls + 3
        assert (tmp_path / "ca.pem").read_bytes() == ca
        # New IDs continue after the old ones.
        assert sf.Lead.create({"LastName": "Next", "Company": "Disk"})["id"] > lead_id


def test_a_seed_file_and_the_default_org(tmp_path: Path) -> None:
    seed_file = tmp_path / "seed.json"
    seed_file.write_text(json.dumps(SEED))
    with EmulatedOrg(seed=seed_file) as seeded:
        users = seeded.client().query("SELECT Email FROM User ORDER BY Email")["records"]
        assert [u["Email"] for u in users] == [
            "ann@acme.example",
            "bob@acme.example",
            "eva@acme.example",
        ]
    with EmulatedOrg() as default:
        sf = default.client()
        statuses = sf.query(
            "SELECT MasterLabel, IsConverted, IsDefault FROM LeadStatus ORDER BY SortOrder"
        )["records"]
        assert [(s["MasterLabel"], s["IsConverted"], s["IsDefault"]) for s in statuses] == [
            ("Open - Not Contacted", False, True),
            ("Working - Contacted", False, False),
            ("Closed - Converted", True, False),
            ("Closed - Not Converted", False, False),
        ]
        lead = sf.Lead.get(sf.Lead.create({"LastName": "A", "Company": "B"})["id"])
        admin = sf.query("SELECT Id FROM User")["records"]
        assert [u["Id"] for u in admin] == [lead["OwnerId"]]


@pytest.mark.parametrize(
    ("seed", "message"),
    [
        ({"Widget": []}, "unknown object(s) Widget"),
        ({"Lead": [{"LastName": "NoCompany"}]}, "seed Lead[0]: REQUIRED_FIELD_MISSING"),
        ({"fields": {"Lead": [{"name": "Bad", "type": "string"}]}}, "end in __c"),
        (
            {"fields": {"Lead": [{"name": "F__c", "type": "double", "formula": "Nope__c * 2"}]}},
            "unknown field Nope__c",
        ),
        (
            {"AssignmentRule": [{"entries": [{"criteria": "Country = 'X'", "owner": "x@y.z"}]}]},
            "no user or queue 'x@y.z'",
        ),
        (
            {
                "AssignmentRule": [
                    {"entries": [{"criteria": "Country LIKE", "owner": "admin@emulated.example"}]}
                ]
            },
            "criteria 'Country LIKE':\nCountry LIKE\n        ^",
        ),
        ({"Contact": [{"LastName": "A", "AccountId": "#missing"}]}, 'no record with "ref"'),
    ],
)
def test_bad_seeds_are_explained(seed: dict[str, object], message: str) -> None:
    with pytest.raises(SeedError) as refused:
        EmulatedOrg(seed=seed)
    assert message in str(refused.value)


def test_a_seed_file_that_is_not_json(tmp_path: Path) -> None:
    broken = tmp_path / "seed.json"
    broken.write_text('{"User": [}')
    with pytest.raises(SeedError, match=r"seed.json:1:11: invalid JSON"):
        EmulatedOrg(seed=broken)


def test_the_seed_in_the_documentation_loads() -> None:
    """docs/emulator.md's example seed is real: it loads and means what the text says."""
    text = (Path(__file__).parents[2] / "docs" / "emulator.md").read_text(encoding="utf-8")
    example = text.split("## The seed", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    with EmulatedOrg(seed=json.loads(example)) as org:
        sf = org.client()
        member = sf.query("SELECT Status, Contact.Owner.Email, Campaign.Name FROM CampaignMember")
        record = member["records"][0]
        assert record["Status"] == "Sent"
        assert record["Contact"]["Owner"]["Email"] == "bob@acme.example"
        assert record["Campaign"]["Name"] == "Q4 Webinar"
        lead = sf.Lead.create({"LastName": "Any", "Company": "Where", "Country": "Peru"})
        owner = sf.query(f"SELECT Owner.Email FROM Lead WHERE Id = '{lead['id']}'")
        assert owner["records"][0]["Owner"]["Email"] == "bob@acme.example"  # catch-all entry
        assert sf.Account.describe()["fields"][-1]["name"] == "Region__pc"
        assert sf.limits()["DailyApiRequests"]["Max"] == 15000
