"""``journey sync --once``, ``journey sync errors`` and ``journey salesforce fields
refresh`` on a project using the embedded emulated org (over HTTPS), as a user runs them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from typer.testing import CliRunner

from journey.cli.main import app
from journey.emulator import EmulatedOrg

SEED = {
    "fields": {
        "Lead": [
            {"name": "Plan_Tier__c", "type": "string"},
            {"name": "Score__c", "type": "double", "formula": "AnnualRevenue / 1000"},
        ]
    },
    "Lead": [{"LastName": "Doe", "FirstName": "Jo", "Company": "Acme", "Email": "jo@acme.example"}],
}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "salesforce-seed.json").write_text(json.dumps(SEED))
    (tmp_path / "journey.toml").write_text(
        '[salesforce]\nseed = "salesforce-seed.json"\n'
        '[sync]\nevery = "10m"\n'
        '[sync.fields.Lead]\n"Plan Tier" = { salesforce = "Plan_Tier__c" }\n'
        '"Score" = { salesforce = "Score__c" }\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "120")
    return tmp_path


def journey(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, (result.output, result.exception)
    return result.output


def as_json(*args: str, code: int = 0) -> Any:
    return json.loads(journey(*args, "--json", code=code))


def _timeless(text: str) -> str:
    return re.sub(r"\(\d+\.\d+ s\)", "(… s)", text)


def test_sync_once_prints_a_summary_per_cycle(project: Path, snapshot: SnapshotAssertion) -> None:
    first = journey("sync", "--once")
    again = journey("sync", "--once")
    assert _timeless(first + again) == snapshot


def test_sync_once_json(project: Path) -> None:
    first = as_json("sync", "--once")
    assert first["inbound"] == 1
    assert first["full_reads"] == ["Account", "Lead", "Contact", "CampaignMember"]
    idle = as_json("sync", "--once")
    assert idle["api_calls"] == 1
    assert (idle["inbound"], idle["outbound"], idle["deleted"], idle["errors"]) == (0, 0, 0, 0)
    assert idle["stopped"] is None


def test_sync_errors_lists_records_that_fail(project: Path) -> None:
    assert journey("sync", "errors") == "no sync errors\n"
    journey("sync", "--once")
    org = EmulatedOrg(project / ".journey" / "emulator")
    try:
        org.start()
        lead = org.client().query("SELECT Id FROM Lead")["records"][0]["Id"]
    finally:
        org.stop()
    # A form changes the Lead Status to a value the org's picklist refuses.
    journey(
        "event",
        "form-submitted",
        "Demo",
        "--email",
        "jo@acme.example",
        "--field",
        "Lead Status=Bogus",
    )
    summary = as_json("sync", "--once")
    errors = as_json("sync", "errors")
    assert summary["errors"] == len(errors) == 1
    assert errors[0]["salesforce_id"] == lead
    assert errors[0]["direction"] == "out"
    assert "Status" in errors[0]["message"]
    assert errors[0]["code"] in journey("sync", "errors")


def test_fields_refresh_marks_read_only_fields(project: Path) -> None:
    fields = as_json("salesforce", "fields", "refresh", "Lead")["Lead"]
    by_name = {f["name"]: f for f in fields}
    assert by_name["Score__c"]["read_only"] is True
    assert by_name["Score__c"]["formula"] is True
    assert by_name["Score__c"]["mapped_to"] == "Score"
    assert by_name["Plan_Tier__c"]["read_only"] is False
    assert by_name["HasOptedOutOfEmail"]["type"] == "True/False"
    assert by_name["Status"]["mapped_to"] == "Lead Status"
    text = journey("salesforce", "fields", "refresh", "Lead")
    assert "inbound only (formula)" in text


def test_a_bad_sync_section_is_a_message(project: Path) -> None:
    (project / "journey.toml").write_text('[sync.Leads]\nmode = "all"\n')
    output = journey("sync", "--once", code=2)
    assert "unknown key 'Leads'" in output


def test_status_shows_api_calls_and_possible_duplicates(project: Path) -> None:
    """Two Salesforce records with one email stay two contacts; `journey status` says so,
    with the API calls the sync used today."""
    org = EmulatedOrg(project / ".journey" / "emulator", project / "salesforce-seed.json")
    try:
        org.start()
        org.client().Contact.create({"LastName": "Doe", "Email": "JO@acme.example"})
    finally:
        org.stop()
    journey("sync", "--once")
    status = as_json("status")
    [duplicate] = status["possible_duplicates"]
    assert duplicate["email"] == "jo@acme.example"
    assert sorted(r["type"] for r in duplicate["records"]) == ["Contact", "Lead"]
    assert status["salesforce"]["api"]["calls_by_journeys"] > 0
    text = journey("status")
    assert "possible duplicate: jo@acme.example is held by" in text
    assert "(merge them in Salesforce)" in text
    assert re.search(r"Salesforce: embedded emulated org .*: \d+ API calls today", text)
