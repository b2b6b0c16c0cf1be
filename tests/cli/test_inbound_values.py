"""Values that are Salesforce's, through the CLI on a standalone emulated org seeded with
records the tool did not create: an Account field mapped onto Contacts follows the
Account in the incremental sync (not only ``--full``); a false checkbox is stored and shown
as "false"; an imported value for an inbound-only field is not kept, and the import says
which column it set aside."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from simple_salesforce.api import SFType

from tests.cli import actions_support as sup
from tests.existing_org import PEOPLE, existing_seed

JOURNEY = """journey "Noop"
trigger added to list "Nobody"

exit
"""


def _seed() -> dict[str, Any]:
    seed = existing_seed()
    seed["fields"]["Account"] = [{"name": "Region__c", "type": "string"}]
    globex = next(a for a in seed["Account"] if a.get("Name") == "Globex")
    globex["Region__c"] = "EMEA"
    owned = next(lead for lead in seed["Lead"] if lead.get("Email") == PEOPLE["owned"])
    owned["DoNotCall"] = True
    return seed


@pytest.fixture
def org(tmp_path: Path) -> Iterator[sup.Standalone]:
    with sup.standalone_emulator(tmp_path / "org", _seed()) as standalone:
        yield standalone


@pytest.fixture
def project(org: sup.Standalone, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    settings = (
        org.settings() + "\n"
        '[sync.fields.Contact]\n"Region" = { salesforce = "Account.Region__c" }\n\n'
        '[sync.fields.Lead]\n"Plan Tier" = { salesforce = "Plan_Tier__c", '
        'direction = "inbound only" }\n'
    )
    root = sup.make_project(tmp_path / "project", {"noop": JOURNEY}, settings)
    monkeypatch.chdir(root)
    monkeypatch.setenv("SF_SESSION", org.session_id)
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    return root


def test_an_account_field_on_contacts_follows_the_account_in_the_incremental_sync(
    org: sup.Standalone, project: Path
) -> None:
    sup.as_json("sync", "--once")
    assert sup.contact(PEOPLE["contact"])["fields"]["Region"] == "EMEA"
    globex = org.soql("SELECT Id FROM Account WHERE Name = 'Globex'")[0]["Id"]
    cast(SFType, org.client().Account).update(globex, {"Region__c": "APAC"})
    sup.as_json("sync", "--once")  # incremental: the Contact itself did not change
    assert sup.contact(PEOPLE["contact"])["fields"]["Region"] == "APAC"


def test_a_false_checkbox_is_shown_as_false(project: Path) -> None:
    sup.as_json("sync", "--once")
    assert sup.contact(PEOPLE["qualified"])["fields"]["Do Not Call"] == "false"
    assert sup.contact(PEOPLE["owned"])["fields"]["Do Not Call"] == "true"


def test_an_imported_inbound_only_value_is_set_aside_and_said(
    org: sup.Standalone, project: Path
) -> None:
    sup.as_json("sync", "--once")
    path = project / "tiers.csv"
    path.write_text(f"Email,Plan Tier,Title\n{PEOPLE['owned']},Platinum,Buyer\n")
    imported = sup.as_json("contacts", "import", str(path), "--now", sup.NOW)
    assert imported["errors"] == []
    assert imported["updated"] == 1
    assert imported["ignored_columns"] == {"Plan Tier": "inbound only: Salesforce's to write"}
    contact = sup.contact(PEOPLE["owned"])
    assert contact["fields"]["Title"] == "Buyer"
    assert contact["fields"].get("Plan Tier", "") != "Platinum"
    words = sup.journey("contacts", "import", str(path), "--now", sup.NOW)
    assert 'column "Plan Tier" set aside' in words
    sup.as_json("sync", "--once")
    lead = org.soql(f"SELECT Plan_Tier__c, Title FROM Lead WHERE Email = '{PEOPLE['owned']}'")[0]
    assert lead["Title"] == "Buyer"
    assert lead["Plan_Tier__c"] != "Platinum"
    assert json.dumps(lead)
