"""``journey salesforce refresh`` and ``journey check`` against its cache, as a user runs
them: a standalone emulated org over HTTPS configured the way a real org is, a project
folder, the printed text and the ``--json`` forms — and ``check`` proved not to call
anything (the org stopped, and every socket connect refused)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from journey.emulator import EmulatedOrg
from journey.engine.org_cache import (
    OrgCampaign,
    OrgCatalog,
    OrgField,
    OrgLeadStatus,
    OrgQueue,
    OrgUser,
    save_catalog,
)
from tests.cli import actions_support as sup
from tests.existing_org import PEOPLE, existing_seed

OLD = "old@acme.example"
URL = "https://org.example.my.salesforce.com"

JOURNEY = """journey "Owners"
trigger added to list "A"
assign lead to "{user}"
set member status "{status}" in campaign "Q4 Webinar"
update salesforce field "{field}" to "Gold"
"""


#: Contact fields the project declares that the org may not have (``update salesforce
#: field`` needs the project to know the field first, and then the org).
FIELDS = '[fields]\n"Plan Teir" = "Text"\n"Shoe Size" = "Text"\n'


def write_project(root: Path, salesforce: str, groups: str = "", journey: str = "") -> Path:
    (root / "journeys").mkdir(parents=True, exist_ok=True)
    (root / "journey.toml").write_text(f"[salesforce]\n{salesforce}\n{FIELDS}{groups}")
    path = root / "journeys" / "owners.journey"
    path.write_text(journey or JOURNEY.format(user=PEOPLE["bob"], status="Attended", field="Title"))
    return path


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """Every attempt to open a network connection, refused and remembered."""
    attempts: list[object] = []

    def refuse(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise OSError("this test allows no network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    yield attempts
    assert attempts == [], "journey check opened a connection"


def test_refresh_reads_the_org_and_check_holds_journeys_against_it_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The standalone org holds an inactive user; the refresh reads it in two API calls
    (one Composite with five queries and the describes, one for the lead statuses); with
    the org gone and the network refused, ``check`` still finds every org name's problem."""
    seed = existing_seed()
    seed["User"].append({"Name": "Old Timer", "Email": OLD, "IsActive": False})
    root = tmp_path / "project"
    with sup.standalone_emulator(tmp_path / "org", seed) as org:
        path = write_project(
            root,
            org.settings(),
            groups=f'[groups]\n"SDRs" = ["{PEOPLE["bob"]}", "{OLD}"]\n',
            journey=JOURNEY.format(user=OLD, status="Atended", field="Plan Teir"),
        )
        monkeypatch.chdir(root)
        monkeypatch.setenv("SF_SESSION", org.session_id)
        text = sup.journey("salesforce", "refresh")
        assert f"read {org.instance_url} in 2 API calls: 4 users (1 inactive), 1 queues" in text
        read = sup.as_json("salesforce", "refresh")
    assert read["refreshed"] is True
    assert (read["users"], read["inactive_users"], read["queues"], read["campaigns"]) == (
        4,
        1,
        1,
        1,
    )
    assert read["lead_statuses"] == 5
    assert read["api_calls"] == 2
    assert read["objects"] == sorted(
        ["Account", "Campaign", "CampaignMember", "Contact", "Lead", "Opportunity", "Task"]
    )
    cache = root / ".journey" / "org.json"
    assert Path(read["path"]) == cache
    assert (root / ".journey" / ".gitignore").read_text().splitlines()[-1] == "*"
    assert {u["email"]: u["active"] for u in json.loads(cache.read_text())["users"]}[OLD] is False

    def refuse(self: socket.socket, address: object) -> None:
        raise AssertionError(f"journey check connected to {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    output = sup.journey("check", str(path), code=1)
    assert f'{path}:3:1: error: user "{OLD}" is inactive in Salesforce' in output
    assert 'campaign "Q4 Webinar" has no member status "Atended"' in output
    assert "did you mean `Attended`?" in output
    assert 'unknown Salesforce field "Plan Teir": neither Lead nor Contact has it' in output
    assert "did you mean `Plan Tier`?" in output
    toml = root / "journey.toml"
    assert f'{toml}:10:1: error: group "SDRs": user "{OLD}" is inactive in Salesforce' in output
    assert f"{cache}:1:1: note: checked against the org's names as read just now" in output
    assert "checked 1 journey: 4 error(s), 0 warning(s)" in output


def catalog(read_at: datetime, url: str = URL) -> OrgCatalog:
    return OrgCatalog(
        read_at=read_at,
        instance_url=url,
        users=(
            OrgUser("0055E0000000001QAA", "bob@acme.example", "Bob Seller", PEOPLE["bob"], True),
            OrgUser("0055E0000000002QAA", OLD, "Old Timer", OLD, False),
        ),
        queues=(OrgQueue("00G5E0000000001UAA", "EMEA Queue", PEOPLE["queue"]),),
        campaigns=(OrgCampaign("7015E0000000001QAA", "Q4 Webinar", ("Sent", "Attended")),),
        lead_statuses=(OrgLeadStatus("Open", "Open"), OrgLeadStatus("Closed", "Closed", True)),
        objects={
            "Lead": (
                OrgField("Plan_Tier__c", "Plan Tier", "string", 255, updateable=True),
                OrgField("Status", "Lead Status", "picklist", 40, updateable=True),
            ),
            "Contact": (OrgField("Title", "Title", "string", 128, updateable=True),),
        },
    )


def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **journey: str) -> Path:
    """A project on a real org that is not running (nothing listens at ``URL``)."""
    monkeypatch.chdir(tmp_path)
    return write_project(
        tmp_path,
        f'instance_url = "{URL}"\nsession_id_env = "SF_SESSION"\n',
        journey=JOURNEY.format(**journey) if journey else "",
    )


def check_json(path: Path, code: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = sup.as_json("check", str(path), code=code)
    return found


def test_the_cache_age_is_one_note_in_both_forms(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offline: list[object]
) -> None:
    path = configured(tmp_path, monkeypatch)
    save_catalog(tmp_path / ".journey", catalog(datetime.now(UTC) - timedelta(days=2, hours=1)))
    output = sup.journey("check", str(path))
    (line, summary) = output.splitlines()
    assert "as read 2 days ago" in line
    assert URL in line
    assert "note:" in line
    assert summary == "checked 1 journey: 0 error(s), 0 warning(s)"
    (note,) = check_json(path, 0)
    assert note["severity"] == "note"
    assert note["path"] == str(tmp_path / ".journey" / "org.json")
    assert "2 days ago" in note["message"]


def test_a_cache_older_than_a_week_is_a_warning_to_refresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offline: list[object]
) -> None:
    path = configured(tmp_path, monkeypatch)
    save_catalog(tmp_path / ".journey", catalog(datetime.now(UTC) - timedelta(days=8)))
    (warning,) = check_json(path, 0)
    assert warning["severity"] == "warning"
    assert "8 days ago" in warning["message"]
    assert "journey salesforce refresh" in warning["hint"]
    sup.journey("check", "--strict", str(path), code=1)


@pytest.mark.parametrize(
    ("user", "status", "field", "expected"),
    [
        (OLD, "Sent", "Title", f'user "{OLD}" is inactive in Salesforce'),
        ("Old Timer", "Sent", "Title", 'user "Old Timer" is inactive in Salesforce'),
        ("bob@acme.exmple", "Sent", "Title", "did you mean `bob@acme.example`?"),
        ("EMEA Queue", "Snt", "Title", "did you mean `Sent`?"),
        ("Bob Seller", "Sent", "Plan Teir", "did you mean `Plan Tier`?"),
    ],
)
def test_check_errors_from_the_cache(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    offline: list[object],
    user: str,
    status: str,
    field: str,
    expected: str,
) -> None:
    path = configured(tmp_path, monkeypatch, user=user, status=status, field=field)
    save_catalog(tmp_path / ".journey", catalog(datetime.now(UTC)))
    found = check_json(path, 1)
    errors = [d for d in found if d["severity"] == "error"]
    assert len(errors) == 1
    assert expected in f"{errors[0]['message']} {errors[0]['hint']}"


def test_without_a_cache_the_orgs_names_stay_warnings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offline: list[object]
) -> None:
    path = configured(tmp_path, monkeypatch, user=OLD, status="Snt", field="Title")
    found = check_json(path, 0)
    assert {d["severity"] for d in found} == {"warning"}
    assert all("journey salesforce refresh" in d["hint"] for d in found)


def test_a_cache_read_from_another_org_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offline: list[object]
) -> None:
    path = configured(tmp_path, monkeypatch, user=OLD, status="Sent", field="Title")
    other = "https://other.my.salesforce.com"
    save_catalog(tmp_path / ".journey", catalog(datetime.now(UTC), url=other))
    found = check_json(path, 0)
    assert found[0]["message"] == f"the org's cache was read from {other}, not {URL}"
    assert {d["severity"] for d in found} == {"warning"}


def test_a_broken_cache_is_a_clear_error_saying_to_refresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offline: list[object]
) -> None:
    path = configured(tmp_path, monkeypatch)
    (tmp_path / ".journey").mkdir()
    (tmp_path / ".journey" / "org.json").write_text('{"format": 1, "users": [')
    output = sup.journey("check", str(path), code=2)
    assert "org.json: broken JSON" in output
    assert "journey salesforce refresh" in output
    assert "Traceback" not in output


def test_the_groups_users_and_the_synced_fields_are_checked_in_journey_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offline: list[object]
) -> None:
    path = configured(tmp_path, monkeypatch)
    with (tmp_path / "journey.toml").open("a") as toml:
        toml.write(
            f'[groups]\n"SDRs" = ["{PEOPLE["bob"]}", "{OLD}", "nobody@acme.example"]\n'
            '[sync.fields.Lead]\n"Tier" = { salesforce = "Plan_Teir__c" }\n'
        )
    save_catalog(tmp_path / ".journey", catalog(datetime.now(UTC)))
    found = [d for d in check_json(path, 1) if d["severity"] == "error"]
    assert [(d["path"], d["message"]) for d in found] == [
        (str(tmp_path / "journey.toml"), f'group "SDRs": user "{OLD}" is inactive in Salesforce'),
        (str(tmp_path / "journey.toml"), 'group "SDRs": unknown user "nobody@acme.example"'),
        (
            str(tmp_path / "journey.toml"),
            '[sync.fields.Lead] "Tier": Lead has no field "Plan_Teir__c"',
        ),
    ]
    assert found[2]["hint"] == "did you mean `Plan_Tier__c`?"
    assert found[2]["line"] == 11


def test_on_the_embedded_org_the_seed_is_the_org(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing to refresh: check reads the seed, inactive seed users are errors."""
    seed = existing_seed()
    seed["User"].append({"Name": "Old Timer", "Email": OLD, "IsActive": False})
    (tmp_path / "seed.json").write_text(json.dumps(seed))
    monkeypatch.chdir(tmp_path)
    path = write_project(
        tmp_path,
        'seed = "seed.json"',
        journey=JOURNEY.format(user=OLD, status="Attended", field="Title"),
    )
    assert "nothing to refresh" in sup.journey("salesforce", "refresh")
    assert sup.as_json("salesforce", "refresh")["refreshed"] is False
    assert not (tmp_path / ".journey").exists()
    (problem,) = check_json(path, 1)
    assert problem["message"] == f'user "{OLD}" is inactive in Salesforce'
    assert problem["line"] == 3


def test_a_refused_session_is_one_clear_error_and_writes_no_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, existing_org: EmulatedOrg
) -> None:
    endpoint = existing_org.endpoint
    monkeypatch.chdir(tmp_path)
    write_project(
        tmp_path,
        f'instance_url = "{endpoint.instance_url}"\nsession_id_env = "SF_SESSION"\n'
        f'ca_file = "{endpoint.ca_file}"\n',
    )
    monkeypatch.setenv("SF_SESSION", "not-a-session")
    output = sup.journey("salesforce", "refresh", code=3)
    assert "INVALID_SESSION_ID" in output
    assert "not-a-session" not in output
    assert not (tmp_path / ".journey" / "org.json").exists()
