"""The dry run predicts the real run: random contacts and small journeys over an org full
of records this tool did not create, dry-run, then run for real on a copy of the same org
— the same Salesforce writes (object, operation, fields; IDs normalised), the same paths
and the same notifications.

The org is built once (``tests/existing_org.py``'s seed, plus a Lead already in the
campaign) and copied per case with ``EmulatedOrg.copy_saved_state``, as the dry run copies it.
Each case is a project as a user has it: ``journey.toml`` (a round-robin group, sometimes
``default_company``), the org in ``.journey/emulator``, and sometimes a store whose round
robin has already handed out turns. The dry run is ``open_connector(dry_run=True)`` +
``dry_run_file``, exactly what ``journey dry-run`` runs; the real run is ``contacts
import`` + ``run --until-idle``'s library calls on the project's own org.

Each action of ``ACTIONS`` is the focus of 12 generated cases (204 in all), with up to two
other actions around it, plus one case with everyone in the org (``everyone``); its cases
must show what it does (``ACTIONS``' values), so no agreement is vacuous.
``AGREE_EXAMPLES=N`` changes the 12.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from journey.connectors.factory import open_connector
from journey.connectors.salesforce.state import ConnectorState
from journey.emulator import EmulatedOrg
from journey.engine.config import load_config
from journey.engine.dryrun import DryRunReport, dry_run_file
from journey.engine.intake import import_csv
from journey.engine.project import open_project
from journey.engine.status import contact_report
from journey.engine.store import open_store
from tests.engine.engine_helpers import T0
from tests.existing_org import PEOPLE, existing_seed

SDRS = [PEOPLE["ann"], PEOPLE["bob"], PEOPLE["eva"]]

#: One line per action and per rule the issue names, and what its cases must all have
#: shown at least once (writes, outcomes) — so the agreement is not a vacuous one.
ACTIONS: dict[str, tuple[str, ...]] = {
    f'assign lead to "{PEOPLE["bob"]}"': ("write:Lead update",),
    f'assign lead to "{PEOPLE["eva"]}" keep current assignment': ("write:Lead update",),
    f'assign lead to "{PEOPLE["bob"]}" lead source "Partner" lead status "Qualified"': (
        "write:Lead update",
    ),
    'assign lead to group "SDRs"': ("write:Lead update", "round robin from a stored turn"),
    'assign lead to group "SDRs" keep current assignment': ("write:Lead update",),
    'add task "Call {{Email}}" due in 2 days priority "High"': ("write:Task create",),
    'set member status "Registered" in campaign "Q4 Webinar"': (
        "write:CampaignMember create",
        "write:CampaignMember update",  # the seed's member of the campaign
    ),
    'set member status "Attended" in campaign "Q4 Webinar"': ("write:CampaignMember create",),
    # not one of the campaign's statuses
    'set member status "Atended" in campaign "Q4 Webinar"': ("outcome:failed",),
    'create opportunity "Deal {{Email}}" stage "Prospecting" amount 1200': (
        "write:Lead convert",
        "write:Opportunity create",
    ),
    'update salesforce field "Title" to "Buyer"': ("write:Contact update", "write:Lead update"),
    # a Lead field, not a Contact's
    'update salesforce field "Rating" to "Warm"': ("write:Lead update",),
    # a custom field of Lead only
    'update salesforce field "Plan_Tier__c" to "Gold"': ("write:Lead update",),
    # not a field of either object
    'update salesforce field "Nonexistent__c" to "x"': ("outcome:done",),
    'add to list "Salesforce Leads"': ("write:Lead create",),
    'add to list "Salesforce Contacts"': ("write:Contact create",),
    'send notification "Hi {{Email}}" to "ops@acme.example" also to lead owner': (
        "write:Email send",
    ),
}

EXISTING = ["owned", "queued", "qualified", "converted", "contact", "dup", "person"]
_ID = re.compile(r"\b[a-zA-Z0-9]{3}[a-zA-Z0-9]{12}(?:[a-zA-Z0-9]{3})?\b")


def base_seed() -> dict[str, Any]:
    seed = existing_seed()
    owned = next(lead for lead in seed["Lead"] if lead["Email"] == PEOPLE["owned"])
    owned["ref"] = "owned"
    seed["CampaignMember"].append({"CampaignId": "#webinar", "LeadId": "#owned", "Status": "Sent"})
    return seed


@pytest.fixture(scope="module")
def base_org() -> Iterator[tuple[Path, dict[str, str]]]:
    """The seeded org's folder (org.db + TLS files), and the IDs of its people by email."""
    folder = Path(tempfile.mkdtemp(prefix="journey-agrees-"))
    open_store(f"sqlite:///{folder / 'state.db'}").close()  # a migrated store to copy
    with EmulatedOrg(folder / "org", base_seed()) as org:
        org.start()
        sf = org.client()
        ids: dict[str, str] = {}
        for kind in ("Lead", "Contact"):
            where = " WHERE IsConverted = false" if kind == "Lead" else ""
            for row in sf.query_all(f"SELECT Id, Email FROM {kind}{where} ORDER BY CreatedDate")[
                "records"
            ]:
                if row["Email"]:
                    ids.setdefault(f"{kind}:{row['Email'].casefold()}", row["Id"])
    yield folder / "org", ids
    shutil.rmtree(folder, ignore_errors=True)


@st.composite
def cases(draw: st.DrawFn, focus: str) -> dict[str, Any]:
    people: list[dict[str, str]] = []
    # Permutations, not lists of samples: shuffles reach every action and person about
    # equally, where lists of samples lean on the first few.
    existing = draw(st.permutations(EXISTING))[: draw(st.integers(0, 3))]
    for who in existing:
        row = {"Email": PEOPLE[who]}
        if draw(st.booleans()):
            row["First Name"] = "Form"
        people.append(row)
    for n in range(draw(st.integers(0, 2))):
        row = {"Email": f"new{n}@fresh.example", "Last Name": f"New{n}"}
        country = draw(st.sampled_from(["", "Germany", "France"]))
        if country:
            row["Country"] = country
        if draw(st.booleans()):
            row["Company"] = "Fresh Co"
        people.append(row)
    by_id = draw(st.lists(st.sampled_from(["owned", "contact"]), max_size=1))
    if not people:
        people.append({"Email": "solo@fresh.example"})
    return {
        "people": people,
        "by_id": by_id,
        "actions": _actions(draw, focus),
        "default_company": draw(st.booleans()),
        "turns": draw(st.integers(0, 2)),
    }


def everyone(focus: str) -> dict[str, Any]:
    """The case every action also gets: each existing person (one by Salesforce ID), a new
    one in each assignment-rule country, the action alone, after a stored turn."""
    people = [{"Email": PEOPLE[who]} for who in EXISTING]
    people += [
        {"Email": f"new{n}@fresh.example", "Last Name": f"New{n}", "Country": country}
        for n, country in enumerate(["Germany", "France"])
    ]
    return {
        "people": people,
        "by_id": ["contact"],
        "actions": [focus],
        "default_company": True,
        "turns": 1,
    }


def _actions(draw: st.DrawFn, focus: str) -> list[str]:
    """``focus`` and up to two other actions, in a drawn order."""
    others = draw(st.permutations([a for a in ACTIONS if a != focus]))[: draw(st.integers(0, 2))]
    at = draw(st.integers(0, len(others)))
    return [*others[:at], focus, *others[at:]]


def make_project(root: Path, org_dir: Path, case: dict[str, Any], ids: dict[str, str]) -> Path:
    (root / "journeys").mkdir(parents=True)
    lines = "\n".join(case["actions"])
    journey = root / "journeys" / "agree.journey"
    journey.write_text(f'journey "Agree"\n\ntrigger added to list "L"\n\n{lines}\n')
    company = 'default_company = "Unknown Co"\n' if case["default_company"] else ""
    sdrs = ", ".join(f'"{u}"' for u in SDRS)
    (root / "journey.toml").write_text(
        f'[salesforce]\n{company}\n[groups]\n"SDRs" = [{sdrs}]\n'
        '[fields]\n"Title" = "Text"\n"Country" = "Text"\n"Plan_Tier__c" = "Text"\n'
        '"Nonexistent__c" = "Text"\n'
    )
    EmulatedOrg.copy_saved_state(org_dir, root / ".journey" / "emulator")
    for name in ("ca.pem", "server.pem"):  # the org's TLS files: no new CA per case
        shutil.copy2(org_dir / name, root / ".journey" / "emulator" / name)
    if case["turns"]:
        config = load_config(root)
        shutil.copy2(org_dir.parent / "state.db", config.store_url.removeprefix("sqlite:///"))
        state = ConnectorState(config.store_url)
        state.take_turns("SDRs", SDRS, case["turns"])
        state.close()
    rows = [dict(p) for p in case["people"]]
    for who in case["by_id"]:
        kind = "Lead" if who == "owned" else "Contact"
        for row in rows:
            if row["Email"] == PEOPLE[who]:
                row["Salesforce ID"] = ids[f"{kind}:{PEOPLE[who]}"]
    columns = sorted({k for row in rows for k in row}, key=lambda c: (c != "Email", c))
    text = ",".join(columns) + "\n"
    text += "".join(",".join(row.get(c, "") for c in columns) + "\n" for row in rows)
    (root / "contacts.csv").write_text(text)
    return journey


class Normaliser:
    """Record IDs → their order of first appearance, so two runs compare by shape."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}

    def __call__(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v) for v in value]
        if isinstance(value, str):
            return _ID.sub(self._token, value)
        return value

    def _token(self, match: re.Match[str]) -> str:
        key = match.group(0)[:15]
        if not any(c.isdigit() for c in key):
            return match.group(0)  # a word, not an ID
        return self.seen.setdefault(key, f"<{key[:3]}#{len(self.seen) + 1}>")


def _records(data: dict[str, Any] | None) -> list[dict[str, Any]]:
    out = []
    for record in (data or {}).get("records", []):
        fields = {k: v for k, v in record["fields"].items() if k != "Outbox"}
        out.append({"object": record["object"], "operation": record["operation"], "fields": fields})
    return out


def _message_id(record: dict[str, Any]) -> dict[str, Any]:
    # A notification's ID is a Message-ID, not a record ID: compared by presence.
    return {**record, "id": "<email>"} if record["object"] == "Email" else record


def dry_paths(report: DryRunReport) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    for contact in report.contacts:
        steps = []
        for r in contact.records:
            if r.kind in ("action", "condition", "wait", "error"):
                steps.append((r.step_id, r.kind, r.outcome, _records(r.data)))
        out[contact.contact] = [*steps, ("status", contact.status)]
    return out


def real_paths(root: Path, template: Path) -> dict[str, list[tuple[Any, ...]]]:
    config = load_config(root)
    store = Path(config.store_url.removeprefix("sqlite:///"))
    if not store.exists():
        shutil.copy2(template, store)  # migrated once per module, not per case
    with open_connector(config) as connector:
        project = open_project(root, connector=connector, now=T0)
        try:
            imported = import_csv(project.store, root / "contacts.csv", project.context(T0), "L")
            assert imported.errors == []
            project.runner().run_until_idle(T0)
            out = {}
            for line in (root / "contacts.csv").read_text().splitlines()[1:]:
                email = line.split(",")[0]
                report = contact_report(project.store, email)
                assert report is not None
                steps = [
                    (a["step"], a["kind"], a["outcome"], _records(a.get("data")))
                    for a in report.activity
                    if a["kind"] in ("action", "condition", "wait", "error")
                ]
                out[email] = [*steps, ("status", report.runs[0]["status"])]
        finally:
            project.close()
    return out


#: 12 cases per action, 17 actions: 204 cases.
EXAMPLES = int(os.environ.get("AGREE_EXAMPLES", "12"))


@pytest.mark.parametrize("focus", list(ACTIONS))
def test_the_dry_run_and_the_real_run_agree(
    base_org: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch, focus: str
) -> None:
    org_dir, ids = base_org
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)  # each project's own SQLite
    seen: Counter[str] = Counter()  # what the cases showed, checked at the end

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(case=cases(focus))
    @example(case=everyone(focus))
    def agree(case: dict[str, Any]) -> None:
        root = Path(tempfile.mkdtemp(prefix="journey-agree-case-"))
        try:
            journey = make_project(root, org_dir, case, ids)
            config = load_config(root)
            with open_connector(config, dry_run=True) as connector:
                report, errors = dry_run_file(journey, root / "contacts.csv", T0, connector)
            assert errors == []
            planned = dry_paths(report)
            done = real_paths(root, org_dir.parent / "state.db")
            dry_n, real_n = Normaliser(), Normaliser()
            dry = dry_n(json.loads(json.dumps(planned, sort_keys=True)))
            real = real_n(json.loads(json.dumps(done, sort_keys=True)))
            assert dry == real, json.dumps({"case": case, "dry": dry, "real": real}, indent=1)
            if case["turns"] and any("group" in line for line in case["actions"]):
                seen["round robin from a stored turn"] += 1
            for steps in done.values():
                for step in steps[:-1]:
                    seen[f"outcome:{step[2]}"] += 1
                    seen.update(f"write:{r['object']} {r['operation']}" for r in step[3])
        finally:
            shutil.rmtree(root, ignore_errors=True)

    agree()
    assert all(seen[covered] for covered in ACTIONS[focus]), seen
