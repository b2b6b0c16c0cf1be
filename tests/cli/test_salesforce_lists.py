"""The Salesforce lists through the CLI, on the embedded org seeded with records the tool did
not create (``tests/existing_org.py``): ``add to list "Salesforce Leads"`` on someone with no
record creates the Lead and the membership follows at once (``trigger added to list``
fires without waiting for a sync); a Salesforce Contact never joins "Salesforce Leads";
after ``journey sync`` every contact is in exactly the list of its record type, a converted
Lead in "Salesforce Contacts" only; ``mode = "none"`` empties a list. The main promises
again on a standalone emulated org in another process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import actions_support as sup
from tests.existing_org import PEOPLE, existing_seed

LEADS, CONTACTS = "Salesforce Leads", "Salesforce Contacts"
ROUTE = """journey "Route"
trigger added to list "Website Leads"

add to list "Salesforce Leads"
"""
WELCOME = """journey "Welcome"
trigger added to list "Salesforce Leads"

update field "Title" to "Welcomed"
"""
NEW = "new@fresh.example"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "journeys").mkdir()
    (tmp_path / "journeys" / "route.journey").write_text(ROUTE)
    (tmp_path / "journeys" / "welcome.journey").write_text(WELCOME)
    (tmp_path / "salesforce-seed.json").write_text(json.dumps(existing_seed()))
    (tmp_path / "journey.toml").write_text('[salesforce]\nseed = "salesforce-seed.json"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    return tmp_path


def salesforce_lists(email: str) -> set[str]:
    return set(sup.contact(email)["lists"]) & {LEADS, CONTACTS}


def test_add_to_salesforce_leads_creates_the_lead_and_the_membership_at_once(
    project: Path,
) -> None:
    sup.import_contacts(
        project,
        [
            {"Email": NEW, "Last Name": "Newman", "Company": "Fresh Co"},
            {"Email": PEOPLE["contact"], "Last Name": "Stone"},
        ],
        list_name="Website Leads",
    )
    sup.run()

    new = sup.contact(NEW)
    assert new["salesforce"]["type"] == "Lead"
    assert salesforce_lists(NEW) == {LEADS}
    # The membership fired `trigger added to list "Salesforce Leads"` in the same run.
    assert new["fields"]["Title"] == "Welcomed"
    assert [r["journey"] for r in new["runs"]] == ["Route", "Welcome"]
    created = sup.query(project, f"SELECT Id, Email FROM Lead WHERE Email = '{NEW}'")
    assert len(created) == 1
    assert created[0]["Id"] == new["salesforce"]["id"]

    # A Salesforce Contact is never a member of "Salesforce Leads", and no Lead is made.
    sam = sup.contact(PEOPLE["contact"])
    assert LEADS not in salesforce_lists(PEOPLE["contact"])
    assert "Welcome" not in [r["journey"] for r in sam["runs"]]
    soql = f"SELECT Id FROM Lead WHERE Email = '{PEOPLE['contact']}'"
    assert sup.query(project, soql) == []


def test_after_a_sync_each_contact_is_in_its_record_types_list(project: Path) -> None:
    sup.journey("sync", "--once")
    for who, expected in [
        ("owned", {LEADS}),
        ("queued", {LEADS}),
        ("qualified", {LEADS}),
        ("converted", {CONTACTS}),  # converted before the tool met the org
        ("contact", {CONTACTS}),
    ]:
        assert salesforce_lists(PEOPLE[who]) == expected, who
    # The Welcome journey greets the Leads that joined, not the Contacts.
    sup.run()
    assert [r["journey"] for r in sup.contact(PEOPLE["owned"])["runs"]] == ["Welcome"]
    assert sup.contact(PEOPLE["converted"])["runs"] == []


def test_on_a_standalone_org_the_lists_follow_the_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same promises against ``journey salesforce emulator`` in another process, the
    way a real org is configured (instance URL, session in an environment variable)."""
    with sup.standalone_emulator(tmp_path / "org", existing_seed()) as org:
        root = tmp_path / "project"
        (root / "journeys").mkdir(parents=True)
        (root / "journeys" / "route.journey").write_text(ROUTE)
        (root / "journeys" / "welcome.journey").write_text(WELCOME)
        (root / "journey.toml").write_text(
            f'[salesforce]\ninstance_url = "{org.instance_url}"\n'
            f'session_id_env = "SF_SESSION"\nca_file = "{org.ca_file}"\n'
        )
        monkeypatch.chdir(root)
        monkeypatch.setenv("SF_SESSION", org.session_id)
        sup.journey("sync", "--once")
        sup.import_contacts(
            root,
            [{"Email": NEW, "Last Name": "Newman", "Company": "Fresh Co"}],
            list_name="Website Leads",
        )
        sup.run()
        assert salesforce_lists(NEW) == {LEADS}
        assert sup.contact(NEW)["fields"]["Title"] == "Welcomed"
        assert len(org.soql(f"SELECT Id FROM Lead WHERE Email = '{NEW}'")) == 1
        assert salesforce_lists(PEOPLE["converted"]) == {CONTACTS}
        assert salesforce_lists(PEOPLE["queued"]) == {LEADS}


def test_mode_none_empties_salesforce_contacts(project: Path) -> None:
    sup.journey("sync", "--once")
    assert salesforce_lists(PEOPLE["contact"]) == {CONTACTS}
    toml = project / "journey.toml"
    toml.write_text(toml.read_text() + '\n[sync.Contact]\nmode = "none"\n')
    sup.journey("sync", "--once")
    assert salesforce_lists(PEOPLE["contact"]) == set()
    assert salesforce_lists(PEOPLE["converted"]) == set()
    assert salesforce_lists(PEOPLE["owned"]) == {LEADS}


def test_importing_into_salesforce_leads_creates_the_leads_through_the_engine(
    project: Path,
) -> None:
    """The FAQ: adding someone to the "Salesforce Leads" list adds them to Salesforce. The
    import asks; the next run creates the Lead (or links the Lead the org holds), and a
    Salesforce Contact gets no Lead."""
    rows = [
        {"Email": NEW, "Last Name": "Newman", "Company": "Fresh Co"},
        {"Email": PEOPLE["owned"], "Last Name": "Owned"},
        {"Email": PEOPLE["contact"], "Last Name": "Stone"},
    ]
    path = project / "people.csv"
    path.write_text(
        "Email,Last Name,Company\n"
        + "".join(f"{r['Email']},{r['Last Name']},{r.get('Company', '')}\n" for r in rows)
    )
    imported = sup.as_json("contacts", "import", str(path), "--list", LEADS, "--now", sup.NOW)
    assert imported["errors"] == []
    assert imported["salesforce_records_requested"] == 3
    # Nobody is a member before a record exists: the list is the record type.
    assert salesforce_lists(NEW) == set()
    sup.run()

    new = sup.contact(NEW)
    assert new["salesforce"]["type"] == "Lead"
    assert salesforce_lists(NEW) == {LEADS}
    assert new["fields"]["Title"] == "Welcomed"  # `trigger added to list` fired
    assert len(sup.query(project, f"SELECT Id FROM Lead WHERE Email = '{NEW}'")) == 1
    # The existing Lead is linked, not doubled; Bob keeps it.
    owned = sup.query(project, f"SELECT Id, Owner.Name FROM Lead WHERE Email = '{PEOPLE['owned']}'")
    assert len(owned) == 1
    assert sup.contact(PEOPLE["owned"])["salesforce"]["id"] == owned[0]["Id"]
    assert salesforce_lists(PEOPLE["owned"]) == {LEADS}
    # The Contact is skipped: no Lead, never in "Salesforce Leads".
    assert sup.query(project, f"SELECT Id FROM Lead WHERE Email = '{PEOPLE['contact']}'") == []
    assert LEADS not in salesforce_lists(PEOPLE["contact"])
