"""Existing Salesforce records, through the ``journey`` command: an org full of Leads,
Contacts, owners and queues this tool did not create (``tests/existing_org.py``'s seed).

Whoever a contact turns out to be in the org — found by email, given by ID in a CSV, by a
form, or created by an action — journeys decide on the record's values (owner, status,
type) read before the step, and actions leave what exists alone: a user owner is kept, a
Contact is not assigned as a Lead, only the fields the action names are written, and an
email in other letter case is not written over Salesforce's. On the embedded org and on a
standalone emulated org.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli import actions_support as sup
from tests.existing_org import PEOPLE, existing_seed

KEEP = f"""journey "Route"
trigger added to list "Imported"
assign lead to "{PEOPLE["eva"]}" keep current assignment
"""

ROUTE_FORM = f"""journey "Form"
trigger form submitted "Demo"
if field "Lead Owner" is empty:
    assign lead to "{PEOPLE["eva"]}" lead status "Working - Contacted"
else:
    add to list "Has an owner"
if field "Lead Status" is "Qualified":
    add to list "Already qualified"
"""

NEW_LEAD = """journey "New"
trigger added to list "Fresh"
add to list "Salesforce Leads"
wait until field "Lead Status" is not "Open - Not Contacted" for at most 3 days
add to list "Moved on"
"""

TAKE = f"""journey "Take"
trigger added to list "Take over"
assign lead to "{PEOPLE["eva"]}"
"""

TOML = """[salesforce]
{salesforce}
[fields]
"Plan Tier" = "Text"
[sync.fields.Lead]
"Plan Tier" = {{ salesforce = "Plan_Tier__c" }}
"""


def make_project(root: Path, journeys: dict[str, str], salesforce: str = "") -> Path:
    """A project on the existing org's seed (embedded unless ``salesforce`` says where)."""
    (root / "journeys").mkdir(parents=True, exist_ok=True)
    (root / "salesforce-seed.json").write_text(json.dumps(existing_seed()))
    settings = salesforce or 'seed = "salesforce-seed.json"'
    (root / "journey.toml").write_text(TOML.format(salesforce=settings))
    for name, text in journeys.items():
        (root / "journeys" / f"{name}.journey").write_text(text)
    return root


@pytest.fixture
def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    root = make_project(
        tmp_path / "project", {"keep": KEEP, "form": ROUTE_FORM, "new": NEW_LEAD, "take": TAKE}
    )
    monkeypatch.chdir(root)
    return root


def lead(root: Path, email: str) -> dict[str, Any]:
    rows = sup.query(
        root,
        "SELECT Id, Email, OwnerId, Owner.Email, Status, LeadSource FROM Lead "
        f"WHERE Email = '{email}' AND IsConverted = false ORDER BY CreatedDate",
    )
    return rows[0]


def lists(email: str) -> list[str]:
    return list(sup.contact(email)["lists"])


def test_keep_current_assignment_keeps_the_owner_of_a_lead_found_by_email(embedded: Path) -> None:
    sup.import_contacts(
        embedded,
        [
            {"Email": PEOPLE["owned"], "Lead Source": "Import"},
            {"Email": PEOPLE["queued"]},
            {"Email": PEOPLE["contact"]},
            {"Email": "new@prospect.example", "Last Name": "New", "Company": "New Co"},
        ],
        "Imported",
    )
    sup.run()
    # Bob's Lead, found by its email, keeps Bob and its Lead Source: nothing is written.
    owned = lead(embedded, PEOPLE["owned"])
    assert owned["Owner.Email"] == PEOPLE["bob"]
    assert owned["LeadSource"] == "Web"
    [(outcome, detail)] = sup.feed(PEOPLE["owned"])
    assert outcome == "skipped"
    assert f"kept the current owner ({PEOPLE['bob']})" in detail
    shown = sup.contact(PEOPLE["owned"])
    assert shown["fields"]["Lead Owner"] == "Bob Seller"
    assert shown["fields"]["Lead Status"] == "Working - Contacted"
    assert shown["fields"]["Lead Source"] == "Web"  # Salesforce's value, read at the link
    # A queue is no user owner: the waiting Lead is given to Eva.
    assert lead(embedded, PEOPLE["queued"])["Owner.Email"] == PEOPLE["eva"]
    # A Contact is not assigned as a Lead: skipped, saying why — no NOT_FOUND, no new Lead.
    [(outcome, detail)] = sup.feed(PEOPLE["contact"])
    assert outcome == "skipped"
    assert "is a Salesforce Contact" in detail
    assert "assign lead assigns Leads only" in detail
    assert sup.query(embedded, f"SELECT Id FROM Lead WHERE Email = '{PEOPLE['contact']}'") == []
    assert sup.contact(PEOPLE["contact"])["salesforce"]["type"] == "Contact"
    # Someone the org does not hold gets a Lead owned by Eva.
    assert lead(embedded, "new@prospect.example")["Owner.Email"] == PEOPLE["eva"]


def test_a_form_from_an_existing_lead_decides_on_its_owner_and_status(embedded: Path) -> None:
    form = ("event", "form-submitted", "Demo", "--now", sup.NOW)
    sup.journey(*form, "--email", PEOPLE["qualified"].upper())
    sup.journey(*form, "--email", PEOPLE["owned"])
    sup.run()
    # Ann's Qualified Lead: its owner and status were read before the first condition.
    assert sorted(lists(PEOPLE["qualified"])) == [
        "Already qualified",
        "Has an owner",
        "Salesforce Leads",
    ]
    qualified = lead(embedded, PEOPLE["qualified"])
    assert (qualified["Owner.Email"], qualified["Status"]) == (PEOPLE["ann"], "Qualified")
    owned = lead(embedded, PEOPLE["owned"])
    assert (owned["Owner.Email"], owned["Status"]) == (PEOPLE["bob"], "Working - Contacted")
    assert "Already qualified" not in lists(PEOPLE["owned"])
    # The form's upper-case email is the same address: the sync does not write it back.
    sup.journey("sync", "--once")
    assert lead(embedded, PEOPLE["qualified"])["Email"] == PEOPLE["qualified"]


def test_a_lead_the_org_creates_is_read_back_before_the_run_goes_on(embedded: Path) -> None:
    sup.import_contacts(
        embedded,
        [{"Email": "fresh@prospect.example", "Last Name": "Fresh", "Country": "Germany"}],
        "Fresh",
    )
    sup.run()
    created = lead(embedded, "fresh@prospect.example")
    assert created["Status"] == "Open - Not Contacted"  # the org's default
    shown = sup.contact("fresh@prospect.example")
    assert shown["fields"]["Lead Status"] == "Open - Not Contacted"
    assert shown["fields"]["Lead Owner"] == "EMEA Queue"  # the assignment rule's choice
    # The wait did not end at once: the status is the one it waits to change.
    [run] = [r for r in shown["runs"] if r["journey"] == "New"]
    assert run["status"] == "waiting"
    assert "Moved on" not in shown["lists"]


def test_an_id_from_the_csv_and_a_converted_lead_are_read_from_the_org(embedded: Path) -> None:
    sup.run()  # the embedded org is made (and seeded) on first use
    [queued] = sup.query(embedded, f"SELECT Id FROM Lead WHERE Email = '{PEOPLE['queued']}'")
    [converted] = sup.query(
        embedded, f"SELECT Id, ConvertedContactId FROM Lead WHERE Email = '{PEOPLE['converted']}'"
    )
    sup.import_contacts(
        embedded,
        [
            {"Salesforce ID": str(queued["Id"]), "Last Name": "Someone"},
            {"Salesforce ID": str(converted["Id"]), "Last Name": "Cora"},
        ],
        "Imported",
    )
    sup.run()
    # The converted Lead stands for the Contact it became: a Contact, not assigned.
    cora = sup.contact(PEOPLE["converted"])
    assert cora["salesforce"] == {"id": converted["ConvertedContactId"], "type": "Contact"}
    assert cora["fields"]["Last Name"] == "Converted"  # first sight: Salesforce's values
    [(outcome, _)] = sup.feed(PEOPLE["converted"])
    assert outcome == "skipped"
    # The queued Lead, read by its ID: its values, and the queue is no user owner.
    quinn = sup.contact(PEOPLE["queued"])
    assert quinn["fields"]["Company"] == "Prospect GmbH"
    assert quinn["fields"]["Lead Owner"] == "Eva Europe"
    assert lead(embedded, PEOPLE["queued"])["Owner.Email"] == PEOPLE["eva"]


def test_existing_records_on_a_standalone_emulated_org(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    with sup.standalone_emulator(tmp_path / "org", existing_seed()) as org:
        root = make_project(tmp_path / "project", {"keep": KEEP}, org.settings())
        monkeypatch.chdir(root)
        monkeypatch.setenv("SF_SESSION", org.session_id)
        sup.import_contacts(
            root,
            [{"Email": PEOPLE["owned"]}, {"Email": PEOPLE["queued"]}, {"Email": PEOPLE["dup"]}],
            "Imported",
        )
        sup.run()
        owners = {
            str(r["Email"]).casefold(): r["Owner.Email"]
            for r in org.soql(
                "SELECT Email, Owner.Email FROM Lead WHERE IsConverted = false ORDER BY CreatedDate"
            )
            if r["Email"]
        }
    assert owners[PEOPLE["owned"]] == PEOPLE["bob"]
    assert owners[PEOPLE["queued"]] == PEOPLE["eva"]
    # Of the two Leads with one email, the older (Bob's) is the contact's, and kept.
    assert sup.contact(PEOPLE["dup"])["fields"]["Lead Owner"] == "Bob Seller"


def test_assign_lead_writes_only_the_owner_over_an_existing_lead(embedded: Path) -> None:
    sup.import_contacts(
        embedded,
        [{"Email": PEOPLE["owned"], "Lead Source": "Import", "Company": "Other Co"}],
        "Take over",
    )
    sup.run()
    owned = sup.query(
        embedded,
        "SELECT Owner.Email, LeadSource, Status, Company FROM Lead "
        f"WHERE Email = '{PEOPLE['owned']}'",
    )
    # The owner changes, as the action says; the Lead's other values are its own still.
    assert owned == [
        {
            "Owner.Email": PEOPLE["eva"],
            "LeadSource": "Web",
            "Status": "Working - Contacted",
            "Company": "Prospect Co",
        }
    ]
    [(outcome, detail)] = sup.feed(PEOPLE["owned"])
    assert outcome == "done"
    assert "update Lead" in detail


READ_ONLY = """journey "Read"
trigger added to list "Look"
if field "Lead Owner" is empty:
    add to list "Unowned"
else:
    add to list "Owned"
"""


def test_new_contacts_are_not_looked_up_in_the_embedded_org_and_known_ones_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The embedded org's file says which emails its Leads and Contacts have: a run of
    contacts it does not hold asks it nothing (no call counted), and one it holds — in
    other letter case — is still found and decided on its record."""
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    root = make_project(tmp_path / "project", {"read": READ_ONLY})
    monkeypatch.chdir(root)
    new = [{"Email": f"new{i}@fresh.example", "Last Name": "New"} for i in range(3)]
    sup.import_contacts(root, new, "Look")
    assert sup.run()["ended"] == 3
    assert sup.as_json("status")["salesforce"]["api"]["calls_by_journeys"] == 0
    assert "Unowned" in lists("new0@fresh.example")
    sup.import_contacts(root, [{"Email": PEOPLE["owned"].upper()}], "Look")
    assert sup.run()["ended"] == 1
    assert sup.as_json("status")["salesforce"]["api"]["calls_by_journeys"] > 0
    shown = sup.contact(PEOPLE["owned"].upper())
    assert shown["fields"]["Lead Owner"] == "Bob Seller"
    assert "Owned" in shown["lists"]
