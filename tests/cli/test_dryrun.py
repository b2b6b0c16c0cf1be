"""`journey dry-run` on an org full of records the tool did not create, through the CLI:
it says what the real run then does — an owner kept, round robin going on from the turn
the store holds, a queue's Lead handed to the next user, a conversion into the Account
the org has — and changes nothing in the org or the store, on the embedded org and on a
standalone emulated org alike."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from journey.emulator import EmulatedOrg
from tests.cli import actions_support as sup
from tests.existing_org import PEOPLE, existing_seed

JOURNEY = """journey "Hand out"

trigger added to list "L"

assign lead to group "SDRs" keep current assignment lead source "Web"
create opportunity "Deal {{Email}}"
"""
SDRS = [PEOPLE["ann"], PEOPLE["bob"], PEOPLE["eva"]]


def write_project(root: Path, salesforce: str) -> Path:
    (root / "journeys").mkdir(parents=True)
    (root / "journeys" / "hand-out.journey").write_text(JOURNEY)
    (root / "seed.json").write_text(json.dumps(existing_seed()))
    sdrs = ", ".join(f'"{u}"' for u in SDRS)
    (root / "journey.toml").write_text(f'[salesforce]\n{salesforce}\n[groups]\n"SDRs" = [{sdrs}]\n')
    return root


def csv(root: Path, name: str, text: str) -> str:
    (root / name).write_text(text)
    return str(root / name)


def actions(report: dict[str, Any], email: str) -> list[dict[str, Any]]:
    [contact] = [c for c in report["contacts"] if c["contact"] == email]
    return [s for s in contact["path"] if s["kind"] == "action"]


def writes(step: dict[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    return [
        (r["object"], r["operation"], r["fields"]) for r in step.get("data", {}).get("records", [])
    ]


@pytest.fixture
def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = write_project(tmp_path / "project", 'seed = "seed.json"\n')
    monkeypatch.chdir(root)
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    monkeypatch.delenv("JOURNEY_CONNECTOR", raising=False)
    return root


def user_ids(soql: Any) -> dict[str, str]:
    return {u["Email"]: u["Id"] for u in soql("SELECT Id, Email FROM User")}


def check_prediction(root: Path, soql: Any) -> None:
    # A first real run hands Ann the first turn.
    first = csv(root, "first.csv", "Email,Last Name\nfirst@new.example,First\n")
    sup.journey("contacts", "import", first, "--list", "L", "--now", sup.NOW)
    assert sup.run()["failed"] == 0
    users = user_ids(soql)
    counts = {o: len(soql(f"SELECT Id FROM {o}")) for o in ("Lead", "Account", "Opportunity")}
    people = csv(
        root,
        "people.csv",
        f"Email,Last Name,Country\n{PEOPLE['owned']},Owned,\nde@new.example,Neu,Germany\n",
    )
    report = sup.as_json(
        "dry-run", "journeys/hand-out.journey", "--contacts", people, "--at", sup.NOW
    )
    assert report["errors"] == []
    # Bob's Lead: the owner the dry run plans is the one the real run leaves (keeping a
    # user owner found by email is the connector's rule, tests/connectors); the conversion
    # goes into the Account the org picks, not one the dry run made up.
    owned_assign, owned_convert = actions(report, PEOPLE["owned"])
    planned_owner = next(
        (f["OwnerId"] for o, _, f in writes(owned_assign) if o == "Lead" and "OwnerId" in f),
        users[PEOPLE["bob"]],
    )
    assert ("Lead", "convert") in [(o, op) for o, op, _ in writes(owned_convert)]
    # The new German Lead (the rule's owner is the EMEA queue: no user owner) gets a turn
    # of the round robin, going on from the turn the store holds: not Ann's again.
    new_assign, _ = actions(report, "de@new.example")
    [new_owner] = [f["OwnerId"] for o, _, f in writes(new_assign) if o == "Lead"]
    assert new_owner in (users[PEOPLE["bob"]], users[PEOPLE["eva"]])
    # Nothing changed: not the org, not the store's turns.
    assert counts == {o: len(soql(f"SELECT Id FROM {o}")) for o in counts}
    again = sup.as_json(
        "dry-run", "journeys/hand-out.journey", "--contacts", people, "--at", sup.NOW
    )
    assert again == report
    # The real run does what the dry run said.
    sup.journey("contacts", "import", people, "--list", "L", "--now", sup.NOW)
    assert sup.run()["failed"] == 0
    leads = {
        r["Email"]: r
        for r in soql(
            "SELECT Email, OwnerId, LeadSource, IsConverted, ConvertedAccountId FROM Lead"
        )
        if r["Email"]
    }
    assert leads[PEOPLE["owned"]]["OwnerId"] == planned_owner
    assert leads["de@new.example"]["OwnerId"] == new_owner
    [planned] = [f for o, op, f in writes(owned_convert) if (o, op) == ("Lead", "convert")]
    assert planned["ConvertedAccountId"] == leads[PEOPLE["owned"]]["ConvertedAccountId"]


def test_a_dry_run_on_the_embedded_org_predicts_the_real_run(embedded: Path) -> None:
    check_prediction(embedded, lambda q: sup.query(embedded, q))


def test_a_dry_run_on_a_standalone_org_reads_it_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with EmulatedOrg(tmp_path / "standalone", existing_seed()) as org:
        endpoint = org.start()
        settings = (
            f'instance_url = "{endpoint.instance_url}"\n'
            'session_id_env = "SF_SESSION"\n'
            f'ca_file = "{endpoint.ca_file}"\n'
        )
        root = write_project(tmp_path / "project", settings)
        monkeypatch.chdir(root)
        monkeypatch.setenv("SF_SESSION", endpoint.session_id)
        monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)

        def soql(query: str) -> list[dict[str, Any]]:
            return [sup.flatten(r) for r in org.client().query_all(query)["records"]]

        before = {o: len(soql(f"SELECT Id FROM {o}")) for o in ("Lead", "Contact", "Account")}
        people = csv(
            root, "people.csv", f"Email,Last Name\n{PEOPLE['owned']},Owned\nx@new.example,X\n"
        )
        report = sup.as_json(
            "dry-run", "journeys/hand-out.journey", "--contacts", people, "--at", sup.NOW
        )
        assert next(s["outcome"] for s in actions(report, PEOPLE["owned"])) == "done"
        [new_create, *_] = writes(actions(report, "x@new.example")[0])
        assert new_create[:2] == ("Lead", "create")
        assert before == {o: len(soql(f"SELECT Id FROM {o}")) for o in before}
        assert not (root / ".journey").exists()


def test_a_dry_run_while_another_process_serves_the_embedded_org(embedded: Path) -> None:
    """A worker holds the embedded org (serving it, writing to it): the dry run copies it
    with SQLite's backup API — no lock taken, nothing written — and sees what it holds."""
    first = csv(embedded, "first.csv", "Email,Last Name\nfirst@new.example,First\n")
    sup.journey("contacts", "import", first, "--list", "L", "--now", sup.NOW)
    assert sup.run()["failed"] == 0  # makes the org in .journey/emulator
    with EmulatedOrg(embedded / ".journey" / "emulator", None) as held:
        held.start()
        held.insert("Lead", [{"LastName": "Late", "Company": "Acme", "Email": "late@x.example"}])
        people = csv(embedded, "late.csv", "Email,Last Name\nlate@x.example,Late\n")
        report = sup.as_json(
            "dry-run", "journeys/hand-out.journey", "--contacts", people, "--at", sup.NOW
        )
        [assign, _] = actions(report, "late@x.example")
        assert "create" not in [op for _, op, _ in writes(assign)]  # the Lead the org holds
        assert (
            len(
                held.client().query("SELECT Id FROM Lead WHERE Email = 'late@x.example'")["records"]
            )
            == 1
        )


def test_jsonl_prints_each_contact_as_json_prints_it_then_a_summary(embedded: Path) -> None:
    people = csv(
        embedded,
        "people.csv",
        f"Email,Last Name\n{PEOPLE['owned']},Owned\nx@new.example,X\n,Nobody\n",
    )
    args = ("dry-run", "journeys/hand-out.journey", "--contacts", people, "--at", sup.NOW)
    whole = sup.as_json(*args, code=1)  # the row without an email is refused
    lines = [json.loads(line) for line in sup.journey(*args, "--jsonl", code=1).splitlines()]
    *contacts, summary = lines
    assert contacts == whole["contacts"]
    assert summary == {
        "journey": whole["journey"],
        "version": whole["version"],
        "at": whole["at"],
        "contacts": 2,
        "statuses": {"completed": 2},
        "errors": whole["errors"],
    }
    assert len(summary["errors"]) == 1
