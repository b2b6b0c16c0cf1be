"""The connection as users meet it: ``open_connector`` on the embedded org (and what it
says), a configured org through environment variables, dry runs that read the real org,
and the ``journey salesforce status`` / ``renew`` commands around a 401 pause."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from typer.testing import CliRunner

from cli.main import app
from connectors.base import ContactSnapshot, EffectRequest
from connectors.factory import ConnectionSettingsError, open_connector
from connectors.recording import RecordingConnector
from connectors.salesforce.connector import SalesforceConnector
from connectors.salesforce.dryrun import ReadingRecorder
from connectors.salesforce.emulator import EmulatedOrg
from dsl.syntax import AddToList
from engine.config import load_config

SEED = {
    "User": [
        {"Name": "Ann Admin", "Email": "ann@acme.example", "connected": True},
        {"Name": "Bob Seller", "Email": "bob@acme.example"},
    ],
    "Lead": [{"LastName": "Doe", "Company": "Acme", "Email": "jo@acme.example"}],
}
LEADS = AddToList("Salesforce Leads")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "salesforce-seed.json").write_text(json.dumps(SEED))
    (tmp_path / "journey.toml").write_text('[salesforce]\nseed = "salesforce-seed.json"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    return tmp_path


def journey(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, (result.output, result.exception)
    return result.output


def request(cid: int, email: str) -> EffectRequest:
    snapshot = ContactSnapshot(id=cid, email=email, fields={"Email": email})
    return EffectRequest(f"k{cid}", snapshot, {"list": "Salesforce Leads"})


def test_the_embedded_org_is_the_default_and_says_so(project: Path) -> None:
    handle = open_connector(load_config())
    assert handle.description == "using the embedded emulated org (.journey/emulator)"
    with handle as connector:
        assert isinstance(connector, SalesforceConnector)
        [result] = connector.perform(LEADS, [request(1, "new@example.org")])
        assert result.status == "done"
    # Its state persists in .journey/emulator, seeded once: the seed's Lead plus ours.
    with open_connector(load_config()) as connector:
        assert isinstance(connector, SalesforceConnector)
        rows = connector.api.query("SELECT Email FROM Lead ORDER BY Email")
    assert [r["Email"] for r in rows] == ["jo@acme.example", "new@example.org"]
    assert (project / ".journey" / "emulator" / "org.db").is_file()


def test_a_dry_run_without_a_connection_only_records(project: Path) -> None:
    handle = open_connector(load_config(), dry_run=True)
    with handle as connector:
        assert isinstance(connector, RecordingConnector)
        assert not isinstance(connector, ReadingRecorder)
    assert not (project / ".journey" / "emulator").exists()


@pytest.fixture
def standalone(tmp_path: Path) -> Iterator[EmulatedOrg]:
    with EmulatedOrg(tmp_path / "standalone", seed=SEED) as org:
        org.start()
        yield org


def configure_org(project: Path, org: EmulatedOrg, monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint = org.endpoint
    (project / "journey.toml").write_text(
        "[salesforce]\n"
        f'instance_url = "{endpoint.instance_url}"\n'
        'session_id_env = "TEST_SF_SESSION"\n'
        f'ca_file = "{endpoint.ca_file}"\n'
    )
    monkeypatch.setenv("TEST_SF_SESSION", endpoint.session_id)


def test_a_configured_org_through_the_environment(
    project: Path, standalone: EmulatedOrg, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure_org(project, standalone, monkeypatch)
    handle = open_connector(load_config())
    assert handle.description == f"connected to {standalone.endpoint.instance_url}"
    with handle as connector:
        [result] = connector.perform(LEADS, [request(1, "real@example.org")])
    assert result.status == "done"
    assert not (project / ".journey" / "emulator").exists()
    found = standalone.client().query("SELECT Id FROM Lead WHERE Email = 'real@example.org'")
    assert found["records"][0]["Id"] == result.changes.salesforce_id


def test_a_missing_secret_is_named_never_shown(
    project: Path, standalone: EmulatedOrg, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure_org(project, standalone, monkeypatch)
    monkeypatch.delenv("TEST_SF_SESSION")
    with pytest.raises(ConnectionSettingsError, match=r"TEST_SF_SESSION, which is not set"):
        open_connector(load_config())
    (project / "journey.toml").write_text('[salesforce]\ninstance_url = "https://x.example"\n')
    with pytest.raises(ConnectionSettingsError, match="no credentials"):
        open_connector(load_config())


def test_a_dry_run_reads_the_real_org_and_writes_nothing(
    project: Path, standalone: EmulatedOrg, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure_org(project, standalone, monkeypatch)
    handle = open_connector(load_config(), dry_run=True)
    assert handle.description.startswith("dry run: recording, reading real records")
    with handle as connector:
        assert isinstance(connector, ReadingRecorder)
        known, new = connector.perform(
            LEADS, [request(1, "jo@acme.example"), request(2, "new@example.org")]
        )
    assert (known.status, known.why) == ("skipped", "already a Salesforce Lead")
    assert new.status == "done"
    assert new.records[0].operation == "create"
    leads = standalone.client().query("SELECT COUNT() FROM Lead")
    assert leads["totalSize"] == 1  # a dry run never writes


def status() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(journey("salesforce", "status", "--json"))
    return data


def test_status_and_renew_around_an_expired_session(project: Path) -> None:
    assert status()["paused"] is None
    assert status()["embedded"] is True
    handle = open_connector(load_config())
    with handle as connector:
        assert handle.org is not None
        handle.org.expire_session()
        [result] = connector.perform(LEADS, [request(1, "late@example.org")])
    assert (result.status, result.error_code) == ("paused", "INVALID_SESSION_ID")
    paused = status()["paused"]
    assert paused["code"] == "INVALID_SESSION_ID"
    text = journey("salesforce", "status")
    assert "state: paused: INVALID_SESSION_ID" in text
    assert "run `journey salesforce renew`" in text
    assert "renewed the session with the embedded emulated org; lifted the pause " in journey(
        "salesforce", "renew"
    )
    assert status()["paused"] is None
    with open_connector(load_config()) as connector:
        [result] = connector.perform(LEADS, [request(1, "late@example.org")])
    assert result.status == "done"
    usage = status()["api"]
    assert usage["calls_by_journeys"] >= 2
    assert usage["org_limit"] == 15000
    assert usage["cap"] == 7500


def test_renew_with_a_session_that_does_not_work_says_so(
    project: Path, standalone: EmulatedOrg, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure_org(project, standalone, monkeypatch)
    monkeypatch.setenv("TEST_SF_SESSION", "00Dnot-a-session")
    output = journey("salesforce", "renew", "--json", code=2)
    assert json.loads(output) == {
        "error": "the renewed session does not work: INVALID_SESSION_ID: Session expired or "
        "invalid — the Salesforce session is no longer valid; run `journey salesforce renew`"
    }
    assert "00Dnot-a-session" not in output


def test_status_text_of_a_new_project(project: Path, snapshot: SnapshotAssertion) -> None:
    assert journey("salesforce", "status") == snapshot
