"""The connection as users meet it: ``open_connector`` on the embedded org (and what it
says), a configured org through environment variables, dry runs that read the real org,
and the ``journey salesforce status`` / ``renew`` commands around a 401 pause."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from simple_salesforce.api import SFType
from syrupy.assertion import SnapshotAssertion
from typer.testing import CliRunner

from journey.cli.main import app
from journey.connectors.base import ContactSnapshot, EffectRequest
from journey.connectors.factory import ConnectionSettingsError, open_connector
from journey.connectors.salesforce.connector import SalesforceConnector
from journey.dsl.syntax import AddToList
from journey.emulator import EmulatedOrg
from journey.engine.config import load_config
from tests.cli import actions_support as sup

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


def test_a_dry_run_in_a_new_project_runs_on_a_scratch_org_made_from_the_seed(
    project: Path,
) -> None:
    handle = open_connector(load_config(), dry_run=True)
    assert handle.description == (
        "dry run on a scratch copy of the embedded emulated org (.journey/emulator)"
    )
    scratch = handle.scratch
    with handle as connector:
        assert isinstance(connector, SalesforceConnector)  # the real one: one set of rules
        known, new = connector.perform(
            LEADS, [request(1, "jo@acme.example"), request(2, "new@example.org")]
        )
    # The seed's Lead is the org's: linked, not created again; the new one is created.
    assert known.changes.salesforce_type == "Lead"
    assert not [r for r in known.records if r.operation == "create"]
    assert [r.operation for r in new.records] == ["create"]
    assert not (project / ".journey").exists()  # no org, no store made by looking
    assert scratch is not None
    assert not scratch.exists()


def test_a_dry_run_acts_on_a_copy_of_the_embedded_org_only(project: Path) -> None:
    with open_connector(load_config()) as connector:
        [made] = connector.perform(LEADS, [request(1, "made@example.org")])
    with open_connector(load_config(), dry_run=True) as connector:
        [again, fresh] = connector.perform(
            LEADS, [request(1, "made@example.org"), request(3, "fresh@example.org")]
        )
    # The Lead the real run made is in the copy: linked again, not created twice.
    assert again.changes.salesforce_id == made.changes.salesforce_id
    assert not [r for r in again.records if r.operation == "create"]
    assert fresh.records[0].operation == "create"
    with open_connector(load_config()) as connector:
        assert isinstance(connector, SalesforceConnector)
        rows = connector.api.query("SELECT Email FROM Lead ORDER BY Email")
    assert [r["Email"] for r in rows] == ["jo@acme.example", "made@example.org"]


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
    assert handle.description == (
        f"dry run: reading {standalone.endpoint.instance_url}; writes captured, never sent"
    )
    with handle as connector:
        assert isinstance(connector, SalesforceConnector)
        known, new = connector.perform(
            LEADS, [request(1, "jo@acme.example"), request(2, "new@example.org")]
        )
    [lead] = standalone.client().query("SELECT Id FROM Lead")["records"]
    assert (known.changes.salesforce_id, known.changes.salesforce_type) == (lead["Id"], "Lead")
    assert not [r for r in known.records if r.operation == "create"]
    assert new.status == "done"
    assert new.records[0].operation == "create"
    # The create was captured, not sent: what the report lists is what it held.
    [capture] = handle.extras
    [write] = [w for w in capture.writes if w.object == "Lead"]
    assert write.method == "POST"
    assert write.records[0]["Email"] == "new@example.org"
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
    # What failed and the setting to fix, never "run renew" again (the user just did).
    assert json.loads(output)["error"] == {
        "code": "config",
        "message": "the renewal failed: [salesforce] session_id_env: the org refused the "
        "session ID in that variable (INVALID_SESSION_ID: Session expired or invalid)",
        "where": None,
        "hint": 'fix what the message names (docs/salesforce.md, "Connecting"), then try again',
    }
    assert "00Dnot-a-session" not in output


def test_status_text_of_a_new_project(project: Path, snapshot: SnapshotAssertion) -> None:
    assert journey("salesforce", "status") == snapshot


# --- Each action and each rule, through `journey run` on the org over HTTP ---------------

LEADS_JOURNEY = """journey "Leads"

trigger added to list "L"

add to list "Salesforce Leads"
assign lead to "ann@acme.example" keep current assignment lead source "Web" lead status "Working"
add task "Call {{First Name}}" due in 2 days priority "High"
send notification "New lead {{Email}}" to "ops@acme.example" also to lead owner
"""


def test_leads_rules_keep_current_assignment_tasks_and_notifications(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = sup.make_project(tmp_path, {"leads": LEADS_JOURNEY})
    monkeypatch.chdir(root)
    sup.import_contacts(
        root,
        [
            # The org's rule gives a German lead to Jane: a user owner, kept.
            {"Email": "dirk@de.example", "First Name": "Dirk", "Country": "Germany"},
            # A French lead waits in a queue: no user owner, so Ann gets it.
            {"Email": "fleur@fr.example", "First Name": "Fleur", "Country": "France"},
            # No rule matches and no owner given: the connected user owns it, and keeps it.
            {"Email": "pia@plain.example", "First Name": "Pia"},
        ],
    )
    summary = sup.run()
    assert (summary["entered"], summary["ended"], summary["failed"]) == (3, 3, 0)
    leads = {
        lead["Email"]: lead
        for lead in sup.query(root, "SELECT Email, Owner.Name, LeadSource, Status FROM Lead")
    }
    assert leads["dirk@de.example"]["Owner.Name"] == "Jane Doe"
    assert leads["fleur@fr.example"]["Owner.Name"] == "Ann Archer"
    assert leads["pia@plain.example"]["Owner.Name"] == "Olga Ops"
    # Source and status are written either way.
    assert {(v["LeadSource"], v["Status"]) for v in leads.values()} == {("Web", "Working")}
    # The task: on the lead, owned by the lead owner, due two days after --now, priority.
    tasks = sup.query(root, "SELECT Subject, ActivityDate, Priority, Owner.Name FROM Task")
    assert sorted(
        (t["Subject"], t["ActivityDate"], t["Priority"], t["Owner.Name"]) for t in tasks
    ) == [
        ("Call Dirk", "2026-03-04", "High", "Jane Doe"),
        ("Call Fleur", "2026-03-04", "High", "Ann Archer"),
        ("Call Pia", "2026-03-04", "High", "Olga Ops"),
    ]
    # With no SMTP configured, the notifications are in the outbox, the owner copied.
    mails = sorted((root / ".journey" / "outbox").glob("*.eml"))
    assert len(mails) == 3
    texts = [m.read_text() for m in mails]
    assert any("New lead dirk@de.example" in t and "jane@acme.example" in t for t in texts)
    assert any("New lead fleur@fr.example" in t and "ann@acme.example" in t for t in texts)
    # The contact refers to its Lead, and the feed says what was done to which record.
    dirk = sup.contact("dirk@de.example")
    assert dirk["salesforce"]["type"] == "Lead"
    assert dirk["fields"]["Lead Owner"] == "Jane Doe"
    actions = sup.feed("dirk@de.example")
    assert [outcome for outcome, _ in actions] == ["done"] * 4
    assert f"create Lead {dirk['salesforce']['id']}" in actions[0][1]


CONTACTS_JOURNEY = """journey "Customers"

trigger added to list "L"

add to list "Salesforce Contacts"
update salesforce field "Title" to "Buyer"
"""


def test_add_to_salesforce_contacts_creates_a_contact_not_a_lead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = sup.make_project(tmp_path, {"customers": CONTACTS_JOURNEY})
    monkeypatch.chdir(root)
    sup.import_contacts(root, [{"Email": "carl@buyer.example", "Last Name": "Carlsen"}])
    assert sup.run()["failed"] == 0
    contacts = sup.query(root, "SELECT Email, LastName, Title FROM Contact")
    assert contacts == [{"Email": "carl@buyer.example", "LastName": "Carlsen", "Title": "Buyer"}]
    assert sup.query(root, "SELECT Id FROM Lead") == []
    assert sup.contact("carl@buyer.example")["salesforce"]["type"] == "Contact"


GROUP_JOURNEY = """journey "Spread"

trigger added to list "L"

assign lead to group "SDRs" lead source "Web"
"""


def test_round_robin_over_the_group_is_fair(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = sup.make_project(tmp_path, {"spread": GROUP_JOURNEY})
    monkeypatch.chdir(root)
    sup.import_contacts(root, [{"Email": f"lead{i}@x.example"} for i in range(300)])
    assert sup.run(code=0)["failed"] == 0
    owners = Counter(lead["Owner.Name"] for lead in sup.query(root, "SELECT Owner.Name FROM Lead"))
    assert owners == {"Ann Archer": 100, "Bob Baker": 100, "Cara Cole": 100}
    # Fair across runs too: three more leads, one each.
    csv = root / "more.csv"
    csv.write_text("Email\n" + "".join(f"more{i}@x.example\n" for i in range(3)))
    sup.journey("contacts", "import", str(csv), "--list", "L", "--now", sup.NOW)
    sup.run()
    owners = Counter(lead["Owner.Name"] for lead in sup.query(root, "SELECT Owner.Name FROM Lead"))
    assert owners == {"Ann Archer": 101, "Bob Baker": 101, "Cara Cole": 101}


MEMBER_JOURNEY = """journey "Webinar"

trigger added to list "L"

set member status "Registered" in campaign "Q4 Webinar"
wait 1 day
set member status "Attended" in campaign "Q4 Webinar"
"""

BAD_STATUS_JOURNEY = """journey "Webinar typo"

trigger added to list "T"

set member status "Atended" in campaign "Q4 Webinar"
"""


def test_member_status_created_then_updated_and_an_unknown_status_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = sup.make_project(tmp_path, {"webinar": MEMBER_JOURNEY, "typo": BAD_STATUS_JOURNEY})
    monkeypatch.chdir(root)
    sup.import_contacts(root, [{"Email": "wendy@web.example"}])
    sup.run()
    members = "SELECT Lead.Email, Campaign.Name, Status, HasResponded FROM CampaignMember"
    assert sup.query(root, members) == [
        {
            "Lead.Email": "wendy@web.example",
            "Campaign.Name": "Q4 Webinar",
            "Status": "Registered",
            "HasResponded": False,
        }
    ]
    sup.run("2026-03-03T09:30:00+00:00")
    [member] = sup.query(root, members)
    assert (member["Status"], member["HasResponded"]) == ("Attended", True)
    # A status the campaign does not have: the run fails, the feed names the error.
    sup.import_contacts(root, [{"Email": "tom@typo.example"}], list_name="T")
    assert sup.run("2026-03-03T09:30:00+00:00", code=1)["failed"] == 1
    [typo_run] = sup.contact("tom@typo.example")["runs"]
    assert typo_run["status"] == "failed"
    [(outcome, detail)] = sup.feed("tom@typo.example")
    assert outcome == "failed"
    assert "UNKNOWN_MEMBER_STATUS" in detail
    assert 'no member status "Atended"' in detail
    assert len(sup.query(root, "SELECT Id FROM CampaignMember")) == 1


OPPORTUNITY_JOURNEY = """journey "Deals"

trigger added to list "L"

add to list "Salesforce Leads"
create opportunity "{{Company}} - Demo" stage "Prospecting" amount 5000
add task "Kick-off with {{Company}}"
create opportunity "{{Company}} - Expansion" amount 100
"""


def test_create_opportunity_converts_with_and_without_an_existing_account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = sup.make_project(tmp_path, {"deals": OPPORTUNITY_JOURNEY})
    monkeypatch.chdir(root)
    sup.import_contacts(
        root,
        [
            {"Email": "gina@globex.example", "Last Name": "Gold", "Company": "Globex"},
            {"Email": "ned@newco.example", "Last Name": "New", "Company": "Newco"},
        ],
    )
    assert sup.run()["failed"] == 0
    accounts = Counter(a["Name"] for a in sup.query(root, "SELECT Name FROM Account"))
    assert accounts == {"Globex": 1, "Newco": 1}  # Globex reused, Newco created
    leads = sup.query(root, "SELECT Email, IsConverted, Status FROM Lead")
    assert {(lead["IsConverted"], lead["Status"]) for lead in leads} == {
        (True, "Closed - Converted")
    }
    opportunities = sup.query(root, "SELECT Name, StageName, Amount, Account.Name FROM Opportunity")
    # The second create opportunity finds a Contact: an Opportunity on its Account, no
    # second conversion, no new Account.
    assert sorted((o["Name"], o["Account.Name"], o["Amount"]) for o in opportunities) == [
        ("Globex - Demo", "Globex", 5000.0),
        ("Globex - Expansion", "Globex", 100.0),
        ("Newco - Demo", "Newco", 5000.0),
        ("Newco - Expansion", "Newco", 100.0),
    ]
    assert len(sup.query(root, "SELECT Id FROM Contact")) == 2
    # The contact is now the Salesforce Contact and its run went on: the task is on it.
    for email, company in (("gina@globex.example", "Globex"), ("ned@newco.example", "Newco")):
        person = sup.contact(email)
        assert person["salesforce"]["type"] == "Contact"
        assert person["runs"][0]["status"] == "completed"
        [task] = sup.query(
            root, f"SELECT WhoId FROM Task WHERE Subject = 'Kick-off with {company}'"
        )
        assert task["WhoId"] == person["salesforce"]["id"]
        assert str(task["WhoId"]).startswith("003")  # a Contact's key prefix


UPDATE_JOURNEY = """journey "Touch"

trigger added to list "L"

update salesforce field "Lead Status" to "Working"
"""


def test_update_salesforce_field_skips_a_contact_with_no_record_without_a_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = sup.make_project(tmp_path, {"touch": UPDATE_JOURNEY})
    monkeypatch.chdir(root)
    sup.import_contacts(root, [{"Email": "nobody@x.example"}])
    assert sup.run()["failed"] == 0
    [(outcome, detail)] = sup.feed("nobody@x.example")
    assert outcome == "skipped"
    assert "no Salesforce record" in detail
    assert sup.contact("nobody@x.example")["runs"][0]["status"] == "completed"
    assert sup.query(root, "SELECT Id FROM Lead") == []
    # No call at all: the embedded org holds no Lead or Contact with its email (its file
    # says so, ``connectors.sync.KnowsPersonEmails``), so nothing is looked up, nor written.
    assert sup.as_json("salesforce", "status")["api"]["calls_by_journeys"] == 0


REASSIGN_JOURNEY = """journey "Move"

trigger added to list "L"

assign lead to "ann@acme.example"
update salesforce field "Country" to "Germany"
"""


@pytest.mark.parametrize(
    ("setting", "owner"),
    [("", "Ann Archer"), ("assignment_rules_on_update = true", "Jane Doe")],
    ids=["rules-kept-out", "rules-on-update"],
)
def test_an_update_the_rules_would_reassign_keeps_its_owner_unless_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str, owner: str
) -> None:
    root = sup.make_project(tmp_path, {"move": REASSIGN_JOURNEY}, salesforce=setting)
    monkeypatch.chdir(root)
    sup.import_contacts(root, [{"Email": "mo@x.example", "Last Name": "Mover"}])
    assert sup.run()["failed"] == 0
    [lead] = sup.query(root, "SELECT Country, Owner.Name FROM Lead")
    assert lead == {"Country": "Germany", "Owner.Name": owner}


# --- A standalone org in another process: faults through its admin path -------------------

FAULTS_JOURNEY = """journey "Faults"

trigger added to list "L"

add to list "Salesforce Leads"
add task "Call {{Email}}" due in 1 day
"""
LATER, LATEST = "2026-03-02T10:00:00+00:00", "2026-03-02T11:00:00+00:00"
PEOPLE = [{"Email": f"p{i}@x.example", "Company": "Acme"} for i in range(12)]


@pytest.fixture
def remote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[sup.Standalone]:
    """A project whose journey.toml points at a ``journey salesforce emulator`` process,
    the session in the SF_SESSION variable."""
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    with sup.standalone_emulator(tmp_path / "org") as org:
        settings = (
            f'instance_url = "{org.instance_url}"\n'
            'session_id_env = "SF_SESSION"\n'
            f'ca_file = "{org.ca_file}"\n'
        )
        root = sup.make_project(tmp_path / "project", {"faults": FAULTS_JOURNEY}, settings)
        monkeypatch.chdir(root)
        monkeypatch.setenv("SF_SESSION", org.session_id)
        sup.import_contacts(root, PEOPLE)
        yield org


def statuses() -> Counter[str]:
    return Counter(sup.contact(p["Email"])["runs"][0]["status"] for p in PEOPLE)


def test_an_expired_session_pauses_until_renewed(
    remote: sup.Standalone, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote.admin({"expire_session": True})
    paused = sup.run(code=3)
    assert paused["failed"] == 0
    assert "journey salesforce renew" in paused["paused"]
    assert statuses() == {"active": len(PEOPLE)}  # nothing failed, nothing lost
    assert sup.as_json("salesforce", "status")["paused"]["code"] == "INVALID_SESSION_ID"
    # An hour later, still expired: still paused, still nothing failed.
    assert sup.run(LATER, code=3)["failed"] == 0
    assert statuses() == {"active": len(PEOPLE)}
    # Renewing with the old session in the variable says it does not work.
    refused = sup.as_json("salesforce", "renew", code=2)["error"]["message"]
    assert "refused the session ID" in refused
    # The org's admin hands out a new session; put it in the variable and renew.
    new_session = remote.admin({"renew_session": True})["session_id"]
    monkeypatch.setenv("SF_SESSION", new_session)
    renewed = sup.as_json("salesforce", "renew")
    assert renewed["renewed"] is True
    assert renewed["was_paused"]
    done = sup.run(LATEST)
    assert (done["failed"], done["paused"]) == (0, None)
    assert statuses() == {"completed": len(PEOPLE)}
    # The same runs completed: one Lead and one Task per contact, no duplicate.
    with_new = sup.Standalone(**{**remote.__dict__, "session_id": new_session})
    leads = Counter(r["Email"] for r in with_new.soql("SELECT Email FROM Lead"))
    assert leads == {p["Email"]: 1 for p in PEOPLE}
    assert len(with_new.soql("SELECT Id FROM Task")) == len(PEOPLE)


def test_a_sync_stopped_by_an_expired_session_exits_3_like_run(remote: sup.Standalone) -> None:
    remote.admin({"expire_session": True})
    stopped = sup.as_json("sync", "--once", code=3)
    assert stopped["stopped"].startswith("INVALID_SESSION_ID")
    assert sup.as_json("salesforce", "status")["paused"]["code"] == "INVALID_SESSION_ID"


def test_an_exhausted_api_allocation_pauses_then_resumes(remote: sup.Standalone) -> None:
    remote.admin({"exhaust_api": True})
    paused = sup.run(code=3)
    assert paused["failed"] == 0
    status = sup.as_json("salesforce", "status")
    assert status["paused"]["code"] == "REQUEST_LIMIT_EXCEEDED"
    assert statuses() == {"active": len(PEOPLE)}
    assert status["paused"]["until"]  # a limit pause ends by itself; a 401 waits for renew
    assert sup.run(LATER, code=3)["failed"] == 0
    # The allocation is back (a new day, or the admin raised it): renew lifts the pause now.
    remote.admin({"reset_api": True})
    assert sup.as_json("salesforce", "renew")["org_remaining"] > 0
    done = sup.run(LATEST)
    assert (done["failed"], done["paused"]) == (0, None)
    assert statuses() == {"completed": len(PEOPLE)}
    assert len(remote.soql("SELECT Id FROM Lead")) == len(PEOPLE)


@pytest.mark.parametrize("error", ["UNABLE_TO_LOCK_ROW", "503"])
def test_lock_errors_and_unavailability_are_retried_until_every_contact_is_done(
    remote: sup.Standalone, error: str
) -> None:
    def calls() -> int:
        used: int = sup.as_json("salesforce", "status")["api"]["calls_by_journeys"]
        return used

    clean = sup.run()  # the first dozen on a healthy org: what it costs without faults
    assert clean["failed"] == 0
    clean_calls = calls()
    remote.admin({"fail_writes": {"share": 0.3, "error": error, "seed": 7}})
    more = [{"Email": f"q{i}@x.example", "Company": "Acme"} for i in range(len(PEOPLE))]
    root = Path.cwd()
    sup.import_contacts(root, more)
    assert sup.run(LATER)["failed"] == 0
    # Later passes (the worker's, or `journey run` again) finish whatever was parked.
    for moment in (LATEST, "2026-03-03T09:00:00+00:00"):
        assert sup.run(moment)["failed"] == 0
    runs = Counter(sup.contact(p["Email"])["runs"][0]["status"] for p in more)
    assert runs == {"completed": len(more)}
    leads = Counter(r["Email"] for r in remote.soql("SELECT Email FROM Lead"))
    assert leads == {p["Email"]: 1 for p in [*PEOPLE, *more]}  # retried, never duplicated
    assert len(remote.soql("SELECT Id FROM Task")) == 2 * len(PEOPLE)
    # The faults did happen: the same work took more calls than on the healthy org.
    assert calls() - clean_calls > clean_calls


def test_status_shows_the_api_calls_used(remote: sup.Standalone) -> None:
    assert sup.as_json("salesforce", "status")["api"]["calls_by_journeys"] == 0
    sup.run()
    used = sup.as_json("status")["salesforce"]["api"]
    # Batched: a dozen contacts, their records read, two actions: a handful of calls —
    # not one per record.
    assert 2 <= used["calls_by_journeys"] <= 10
    assert used["org_used"] >= used["calls_by_journeys"]
    assert sup.as_json("salesforce", "status")["api"] == used
    assert remote.admin({})["api_usage"]["used"] >= used["calls_by_journeys"]


def test_a_killed_run_resumes_without_duplicate_records(
    remote: sup.Standalone, tmp_path: Path
) -> None:
    """``kill -9`` of ``journey run`` while it talks to the org, then ``journey run`` again:
    whatever the kill interrupted (a call in flight, an answer not yet committed), every
    contact ends with one Lead and one Task. The exact window between Salesforce's answer
    and the local commit is pinned deterministically in
    tests/connectors/salesforce/test_sf_crash.py; this is the same promise from the shell."""
    remote.admin({"latency_seconds": 0.15})  # slow enough to land the kill mid-run
    process = subprocess.Popen(
        [str(sup.JOURNEY_BIN), "run", "--until-idle", "--now", sup.NOW, "--batch-size", "3"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ},
    )
    try:
        while process.poll() is None and not remote.soql("SELECT Id FROM Lead LIMIT 1"):
            time.sleep(0.02)
    finally:
        process.kill()
        process.wait()
    killed_with = len(remote.soql("SELECT Id FROM Lead"))
    assert 0 < killed_with < len(PEOPLE)  # the kill landed mid-run
    remote.admin({"clear": True})
    assert sup.run(LATER)["failed"] == 0
    assert statuses() == {"completed": len(PEOPLE)}
    leads = Counter(r["Email"] for r in remote.soql("SELECT Email FROM Lead"))
    assert leads == {p["Email"]: 1 for p in PEOPLE}
    tasks = Counter(r["Subject"] for r in remote.soql("SELECT Subject FROM Task"))
    assert tasks == {f"Call {p['Email']}": 1 for p in PEOPLE}


def already_a_lead(remote: sup.Standalone) -> str:
    """p0's email is on a Lead the org had before the engine knew the contact."""
    leads = cast(SFType, remote.client().Lead)  # Salesforce.__getattr__ is typed loosely
    created = leads.create({"LastName": "Zero", "Company": "Acme", "Email": "p0@x.example"})
    return str(created["id"])


def test_a_dry_run_sees_a_lead_already_in_the_org(remote: sup.Standalone, tmp_path: Path) -> None:
    lead_id = already_a_lead(remote)
    csv = tmp_path / "two.csv"
    csv.write_text("Email,Company\np0@x.example,Acme\nfresh@x.example,Acme\n")
    report = sup.as_json(
        "dry-run", "journeys/faults.journey", "--contacts", str(csv), "--at", sup.NOW
    )
    paths = {c["contact"]: c["path"] for c in report["contacts"]}
    known = [step for step in paths["p0@x.example"] if step["kind"] == "action"]
    # Linked to the org's Lead before the first step, as the real run links it (link =
    # read): already a Salesforce Lead, so nothing is created.
    assert known[0]["outcome"] == "skipped"
    assert "already a Salesforce Lead" in json.dumps(known[0])
    assert "create" not in [r["operation"] for r in known[0].get("data", {}).get("records", [])]
    assert known[1]["data"]["records"][0]["fields"]["WhoId"] == lead_id
    fresh = [step for step in paths["fresh@x.example"] if step["kind"] == "action"]
    assert fresh[0]["data"]["records"][0]["operation"] == "create"
    assert len(remote.soql("SELECT Id FROM Lead")) == 1  # a dry run writes nothing


def test_a_dry_run_on_a_real_org_creates_no_store(remote: sup.Standalone, tmp_path: Path) -> None:
    lead_id = already_a_lead(remote)
    state = Path.cwd() / ".journey"
    shutil.rmtree(state)  # a project where nothing has run yet
    csv = tmp_path / "one.csv"
    csv.write_text("Email,Company\np0@x.example,Acme\n")
    report = sup.as_json(
        "dry-run", "journeys/faults.journey", "--contacts", str(csv), "--at", sup.NOW
    )
    (path,) = (c["path"] for c in report["contacts"])
    first = next(s for s in path if s["kind"] == "action")
    assert "create" not in [r["operation"] for r in first.get("data", {}).get("records", [])]
    assert lead_id in json.dumps(path)  # it read the org
    assert not state.exists()


def test_a_real_run_uses_a_lead_already_in_the_org(remote: sup.Standalone) -> None:
    lead_id = already_a_lead(remote)
    assert sup.run()["failed"] == 0
    leads = remote.soql("SELECT Id FROM Lead WHERE Email = 'p0@x.example'")
    assert [lead["Id"] for lead in leads] == [lead_id]
    assert sup.contact("p0@x.example")["salesforce"]["id"] == lead_id
