"""Link = read (``engine.linking``), counted on the emulated org holding existing records:
a runner with the Salesforce connector reads each newly linked contact's record — by ID,
by email, after an action created it — into the contact before a step decides, in one
query per 200 contacts per object, and only again when the ID or email changes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from journey.connectors.salesforce.connector import SalesforceConnector
from journey.emulator import EmulatedOrg
from journey.engine.contacts import load_views
from journey.engine.intake import import_csv, submit_form
from journey.engine.project import Project, open_project
from journey.engine.store import Activity, Contact
from tests.connectors.salesforce.conftest import NOW, build_connector
from tests.existing_org import PEOPLE

LOOK = """journey "Look"
trigger added to list "In"
trigger form submitted "Demo"
entry always
if field "Lead Owner" is empty:
    add to list "No owner"
else:
    add to list "Owned"
"""


@dataclass
class World:
    org: EmulatedOrg
    root: Path
    connector: SalesforceConnector
    project: Project

    def enter(self, rows: list[dict[str, str]]) -> None:
        columns = sorted({k for row in rows for k in row})
        lines = [",".join(columns)] + [",".join(r.get(c, "") for c in columns) for r in rows]
        (self.root / "in.csv").write_text("\n".join(lines) + "\n")
        report = import_csv(
            self.project.store, self.root / "in.csv", self.project.context(NOW), "In"
        )
        assert report.errors == []

    def run(self, minutes: int = 0) -> Any:
        return self.project.runner().run_until_idle(NOW + timedelta(minutes=minutes))

    def view(self, email: str) -> Any:
        c = Contact
        with self.project.store.engine.connect() as conn:
            cid = conn.execute(sa.select(c.c.id).where(c.c.email_key == email.casefold())).scalar()
            return load_views(conn, [int(cid)])[int(cid)]

    def lead_id(self, email: str) -> str:
        rows = self.org.client().query(
            f"SELECT Id FROM Lead WHERE Email = '{email}' ORDER BY CreatedDate"
        )["records"]
        return str(rows[0]["Id"])


@pytest.fixture
def world(
    existing_org: EmulatedOrg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    (tmp_path / "journeys").mkdir()
    (tmp_path / "journeys" / "look.journey").write_text(LOOK)
    (tmp_path / "journey.toml").write_text("")
    connector, _ = build_connector(existing_org, tmp_path / ".journey")
    project = open_project(tmp_path, connector=connector, now=NOW)
    yield World(existing_org, tmp_path, connector, project)
    project.close()


def lists(view: Any) -> set[str]:
    return set(view.lists.values())


def test_a_contact_found_by_email_decides_on_its_records_owner(world: World) -> None:
    world.enter(
        [
            {"Email": PEOPLE["owned"]},
            {"Email": PEOPLE["queued"]},
            {"Email": PEOPLE["contact"]},
            {"Email": "nobody@else.example"},
        ]
    )
    world.run()
    owned = world.view(PEOPLE["owned"])
    assert "Owned" in lists(owned)
    assert (owned.owner_email, owned.get("Lead Status")) == (PEOPLE["bob"], "Working - Contacted")
    assert (owned.salesforce_type, owned.salesforce_id) == ("Lead", world.lead_id(PEOPLE["owned"]))
    # A queue owner is an owner to the condition (the Lead Owner field shows it).
    assert "Owned" in lists(world.view(PEOPLE["queued"]))
    assert world.view(PEOPLE["queued"]).get("Lead Owner") == "EMEA Queue"
    # The Contact's email: linked to the Contact — the type comes from the record.
    contact = world.view(PEOPLE["contact"])
    assert contact.salesforce_type == "Contact"
    assert contact.salesforce_id.startswith("003")
    assert "Salesforce Contacts" in lists(contact)
    nobody = world.view("nobody@else.example")
    assert (nobody.salesforce_id, lists(nobody) >= {"No owner"}) == (None, True)


def test_one_call_per_1000_contacts_per_object_and_none_again(world: World) -> None:
    world.enter([{"Email": f"p{i}@crowd.example"} for i in range(250)])
    before = world.org.api_calls
    report = world.run()
    assert report.failed == 0
    # 250 emails: two chunks of up to 200, on Lead and on Contact; each object's chunks
    # are one Composite call (up to five queries a call, one API call).
    assert world.org.api_calls - before == 2
    # Nothing changed: no contact is looked up again.
    world.project.runner().run_until_idle(NOW)
    world.enter([{"Email": f"p{i}@crowd.example", "First Name": "Again"} for i in range(3)])
    before = world.org.api_calls
    world.run(1)
    assert world.org.api_calls == before


def test_a_changed_email_is_looked_up_again(world: World) -> None:
    world.enter([{"Email": "someone@else.example"}])
    world.run()
    before = world.view("someone@else.example")
    assert (before.salesforce_id, "No owner" in lists(before)) == (None, True)
    # The contact's email changes (as an edit elsewhere would) to the qualified Lead's.
    c = Contact
    with world.project.store.begin() as conn:
        conn.execute(
            sa.update(c)
            .where(c.c.id == before.id)
            .values(email=PEOPLE["qualified"], email_key=PEOPLE["qualified"])
        )
    submit_form(world.project.store, world.project.context(NOW), "Demo", PEOPLE["qualified"], {})
    world.run(1)
    view = world.view(PEOPLE["qualified"])
    assert view.id == before.id
    assert (view.get("Lead Status"), view.owner_email) == ("Qualified", PEOPLE["ann"])
    assert "Owned" in lists(view)


def test_an_id_from_a_csv_is_read_by_it(world: World) -> None:
    qualified = world.lead_id(PEOPLE["qualified"])
    world.enter([{"Salesforce ID": qualified, "Last Name": "Someone"}])
    world.run()
    view = world.view(PEOPLE["qualified"])
    assert view.salesforce_id == qualified
    assert (view.get("Last Name"), view.get("Lead Status")) == ("Qualified", "Qualified")


def test_a_converted_lead_stands_for_its_contact(world: World) -> None:
    converted = world.lead_id(PEOPLE["converted"])
    world.enter([{"Salesforce ID": converted, "Last Name": "Someone"}])
    world.run()
    view = world.view(PEOPLE["converted"])
    assert view.salesforce_type == "Contact"
    assert view.salesforce_id.startswith("003")
    assert view.get("Last Name") == "Converted"
    assert view.get("Company") == "Initech"  # the Account's name, through the Contact


def test_a_form_in_other_case_takes_the_lead_and_keeps_its_email(world: World) -> None:
    submit_form(
        world.project.store, world.project.context(NOW), "Demo", "OWNED@prospect.example", {}
    )
    world.run()
    view = world.view(PEOPLE["owned"])
    assert view.salesforce_id == world.lead_id(PEOPLE["owned"])
    assert "Owned" in lists(view)


def test_a_refused_read_decides_nothing_and_reads_on_the_next_pass(world: World) -> None:
    world.enter([{"Email": PEOPLE["owned"]}])
    world.org.expire_session()
    report = world.run()
    assert report.paused is not None
    assert "INVALID_SESSION_ID" in report.paused
    a = Activity
    with world.project.store.engine.connect() as conn:
        kinds = {r.kind for r in conn.execute(sa.select(a.c.kind))}
    assert "action" not in kinds  # no step was taken on unread values
    assert "Owned" not in lists(world.view(PEOPLE["owned"]))


def test_a_record_linked_to_one_contact_is_not_linked_to_a_second(world: World) -> None:
    older = world.lead_id(PEOPLE["dup"])  # Bob's, the older of the two Leads
    # In one batch: a contact given that Lead's ID, and one whose email finds it too.
    world.enter([{"Salesforce ID": older, "Last Name": "Dupe"}, {"Email": "DUP@prospect.example"}])
    world.run()
    assert world.view(PEOPLE["dup"]).salesforce_id == older
    c = Contact
    with world.project.store.begin() as conn:
        linked = conn.execute(sa.select(c.c.salesforce_id).where(c.c.salesforce_id.is_not(None)))
        assert [r.salesforce_id for r in linked] == [older]
    # A later contact with the email is not linked to it either.
    submit_form(world.project.store, world.project.context(NOW), "Demo", "Dup@Prospect.example", {})
    world.run(1)
    with world.project.store.begin() as conn:
        linked = conn.execute(sa.select(c.c.salesforce_id).where(c.c.salesforce_id.is_not(None)))
        assert [r.salesforce_id for r in linked] == [older]
