"""A dry run of a journey that calls no Salesforce action but decides on what records say
looks up only the contacts the embedded org could know (``connectors.dry_run_reads``),
opens the org only for them, and says what the scratch connector says when it looks up
every contact — on an org full of records the tool did not make: owned and queued Leads,
a converted Lead, a Contact, a person account, duplicates."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from journey.connectors.dry_run_reads import OrgOnFirstRead, person_emails
from journey.connectors.factory import embedded_state_dir, open_connector
from journey.emulator import EmulatedOrg
from journey.emulator.seed import seed_emails
from journey.engine.config import load_config
from journey.engine.dryrun import load_dry_run, stream_dry_run
from journey.engine.dryrun_json import json_document, write_all
from tests.existing_org import PEOPLE, existing_seed

AT = "2026-03-02T09:00:00+00:00"
AT_MOMENT = datetime.fromisoformat(AT)

#: Every reason to read a record but an action: the owner, a record's fields, its type.
JOURNEY = """journey "Read"

trigger added to list "In"

if field "Lead Owner" is empty:
    add to list "Unowned"
else if is salesforce contact or field "Country" is "Germany":
    add to list "Known"
else:
    add to list "Other"
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    (root / "journeys").mkdir(parents=True)
    (root / "journeys" / "read.journey").write_text(JOURNEY, encoding="utf-8")
    (root / "seed.json").write_text(json.dumps(existing_seed()), encoding="utf-8")
    (root / "journey.toml").write_text('[salesforce]\nseed = "seed.json"\n', encoding="utf-8")
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    monkeypatch.delenv("JOURNEY_CONNECTOR", raising=False)
    return root


def write_contacts(root: Path, emails: list[str]) -> Path:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Email", "Last Name", "Country"])
    for i, email in enumerate(emails):
        writer.writerow([email, f"Row{i}", "France"])
    path = root / "contacts.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def dry_run_command(root: Path, contacts: Path) -> dict[str, Any]:
    command = ["dry-run", "journeys/read.journey", "--contacts", str(contacts), "--at", AT]
    done = subprocess.run(
        [sys.executable, "-m", "journey", *command, "--json"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def every_contact_looked_up(root: Path, contacts: Path) -> dict[str, Any]:
    """The report with the scratch connector open and every contact looked up."""
    journey_file = root / "journeys" / "read.journey"
    setup = load_dry_run(journey_file)
    pieces: list[str] = []
    with open_connector(load_config(journey_file), dry_run=True) as connector:
        run = stream_dry_run(setup, contacts, AT_MOMENT, connector)
        write_all(json_document(run.head(), run.paths, list), pieces.append)
    report: dict[str, Any] = json.loads("".join(pieces))
    return report


def lists(report: dict[str, Any]) -> dict[str, str]:
    """Contact -> the list its path added it to."""
    return {
        c["contact"]: next(p["detail"] for p in c["path"] if p["kind"] == "action")
        for c in report["contacts"]
    }


def mangled(email: str) -> str:
    """The email as a CSV might hold it: other letter case, spaces around."""
    return f"  {email.upper()} "


def test_contacts_the_org_knows_are_found_in_any_letter_case_and_the_rest_are_not_looked_up(
    project: Path,
) -> None:
    emails = [mangled(e) for e in PEOPLE.values()] + [f"new{i}@fresh.example" for i in range(5)]
    contacts = write_contacts(project, emails)
    report = dry_run_command(project, contacts)
    assert report == every_contact_looked_up(project, contacts)
    assert not (project / ".journey").exists()  # nothing made, not even the org
    taken = lists(report)
    # The records decided, not the CSV's "France": the Contact, the person account, and a
    # converted Lead standing for its Contact are Contacts; owned Leads have an owner.
    assert 'add to list "Known"' in taken[PEOPLE["contact"].upper()]
    assert 'add to list "Known"' in taken[PEOPLE["person"].upper()]
    assert 'add to list "Unowned"' in taken["new0@fresh.example"]


def test_a_record_made_after_the_seed_is_found_in_the_org_s_file(project: Path) -> None:
    """Once the org exists, its file says which emails it holds, not its seed."""
    config = load_config(project / "journeys" / "read.journey")
    org = EmulatedOrg(embedded_state_dir(config), project / "seed.json")
    try:
        org.insert(
            "Lead",
            [{"LastName": "Late", "Company": "L", "Email": "late@x.example", "Country": "Germany"}],
        )
    finally:
        org.stop()
    contacts = write_contacts(project, ["Late@X.example", "other@fresh.example"])
    report = dry_run_command(project, contacts)
    assert report == every_contact_looked_up(project, contacts)
    assert 'add to list "Known"' in lists(report)["Late@X.example"]
    assert "late@x.example" not in seed_emails(existing_seed())


def test_the_org_is_opened_only_when_a_contact_might_be_in_it(project: Path) -> None:
    config = load_config(project / "journeys" / "read.journey")
    emails = person_emails(config)
    assert emails is not None
    setup = load_dry_run(project / "journeys" / "read.journey")
    for rows, opens in (
        (["a@fresh.example", "b@fresh.example"], False),
        (["a@fresh.example", mangled(PEOPLE["dup"])], True),
    ):
        contacts = write_contacts(project, rows)
        with OrgOnFirstRead(lambda: open_connector(config, dry_run=True), emails) as reader:
            run = stream_dry_run(setup, contacts, AT_MOMENT, reader=reader)
            assert len(list(run.paths)) == 2
            assert reader.opened is opens


def test_a_seed_s_emails_include_those_of_person_accounts_and_converted_leads() -> None:
    emails = seed_emails(existing_seed())
    for who in ("person", "converted", "contact", "dup", "owned", "queued"):
        assert PEOPLE[who] in emails


def test_an_org_not_seeded_yet_or_a_seed_that_cannot_be_read_says_nothing(
    project: Path,
) -> None:
    config = load_config(project / "journeys" / "read.journey")
    (project / "seed.json").write_text("{not json", encoding="utf-8")
    assert person_emails(config) is None
    folder = embedded_state_dir(config)
    folder.mkdir(parents=True)
    (folder / "org.db").write_bytes(b"")
    assert person_emails(config) is None
