"""The project the serve tests look at, made as a user makes it: journeys on the embedded
emulated org seeded with records the tool did not create (tests/existing_org.py),
contacts imported and runs taken by the CLI.

* "Welcome": a form submission enters it; it waits two days at step 1.
* "No shows": people added to the list "Missed" fail at step 2, whose campaign lacks the
  member status "No Show" (``UNKNOWN_MEMBER_STATUS``), until the admin adds it.
"""

from __future__ import annotations

import json
from pathlib import Path

from journey.emulator import EmulatedOrg
from tests.cli import actions_support as sup
from tests.existing_org import PEOPLE, existing_seed

__all__ = [
    "MISSED",
    "NOW",
    "NO_EMAIL",
    "WELCOME",
    "WELCOMED",
    "add_member_status",
    "fill",
    "submit_form",
    "write_project",
]

WELCOME = """journey "Welcome"

trigger form submitted "Hello"

wait 2 days
update field "Nurture Stage" to "Welcomed"
"""
NO_SHOWS = """journey "No shows"

trigger added to list "Missed"

update field "Nurture Stage" to "Missed the webinar"
set member status "No Show" in campaign "Q4 Webinar"
"""
NOW = sup.NOW
#: Who the form brought in, and who missed the webinar (one a Lead the org holds).
WELCOMED = "ada@initech.example"
MISSED = (PEOPLE["owned"], "newcomer@fresh.example")
#: A contact without an email: linked to a Lead by its ID, known by name and company.
NO_EMAIL = {
    "Salesforce ID": "00Q000000000042",
    "First Name": "Grace",
    "Last Name": "Hopper",
    "Company": "Navy Labs",
}


def write_project(root: Path) -> Path:
    (root / "journeys").mkdir(parents=True, exist_ok=True)
    (root / "journeys" / "welcome.journey").write_text(WELCOME)
    (root / "journeys" / "no-shows.journey").write_text(NO_SHOWS)
    (root / "salesforce-seed.json").write_text(json.dumps(existing_seed()))
    (root / "journey.toml").write_text(
        '[salesforce]\nseed = "salesforce-seed.json"\n\n'
        '[fields]\n"Nurture Stage" = "Text"\n\n'
        '[segments]\n"Initech people" = \'field "Email" contains "initech"\'\n'
    )
    return root


def submit_form(email: str, now: str = NOW) -> None:
    """Someone fills in the "Hello" form; the next run takes them into "Welcome"."""
    sup.journey("event", "form-submitted", "Hello", "--email", email, "--now", now)


def fill(root: Path) -> None:
    """The project's history: one person welcomed (waiting), two failed, one without email."""
    submit_form(WELCOMED)
    sup.import_contacts(root, [{"Email": e} for e in MISSED], list_name="Missed")
    sup.import_contacts(root, [NO_EMAIL], list_name="Imported")
    report = sup.run(code=1)
    assert report["failed"] == 2


def add_member_status(root: Path, label: str = "No Show") -> None:
    """What the Salesforce admin does to fix the refusal (tests/cli/test_retry.py), on the
    embedded org's state served again."""
    with EmulatedOrg(root / ".journey" / "emulator", None) as org:
        org.start(port=0)
        client = org.client()
        [campaign] = client.query("SELECT Id FROM Campaign WHERE Name = 'Q4 Webinar'")["records"]
        client.CampaignMemberStatus.create({"CampaignId": campaign["Id"], "Label": label})
