"""On PostgreSQL the intake writes its batches by its own two-round-trip path
(``serve.pg_rows``); what it leaves in the store is what ``submit_forms``, the engine's
path for form posts, leaves: the same contacts, field values, companies, events (in the
same order), list memberships and sync marks, for new and known people, repeated emails in
any letter case, typed fields, segments, and a contact linked to Salesforce."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from journey.engine.field_values import FieldValueError
from journey.engine.intake import FormSubmission, record_campaign_status, submit_forms
from journey.engine.project import Project, open_project
from journey.serve import pg_rows
from tests.serve.intake_support import TOML, write_project

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
FIELDS = TOML.replace(
    '"Seats" = "Number"', '"Seats" = "Number"\n"Demo Day" = "Date"\n"Opted In" = "True/False"'
)
SEGMENTS = (
    FIELDS
    + """
[segments]
"Big teams" = 'field "Seats" > 2'
"Acme people" = 'field "Company" is "Acme"'
"""
)
Writer = Callable[[Project, list[FormSubmission]], None]

BATCHES = [
    [
        FormSubmission("Demo", "old@x.example", {"First Name": "Olga", "Company": "Acme"}),
        FormSubmission("Demo", "linked@x.example", {"Last Name": "Lee"}),
    ],
    [
        FormSubmission("Demo", "new@x.example", {"First Name": "Nia", "Seats": "3"}),
        FormSubmission("Webinar", "NEW@x.example", {"Last Name": "Ng", "Demo Day": "2026-04-01"}),
        FormSubmission("Webinar", "old@x.example", {"Seats": "2", "Company": "Globex"}),
        FormSubmission("Demo", "LINKED@x.example", {"Plan Tier": "Gold"}),
        FormSubmission("Demo", "other@x.example", {"Company": "ACME", "Opted In": "yes"}),
    ],
    [
        FormSubmission("Demo", "new@x.example", {"First Name": "Nia", "Seats": "3"}),
        FormSubmission("Demo", "third@x.example", {"Company": "Initech", "Plan Tier": " "}),
        FormSubmission("Demo", "old@x.example", {"Seats": "2"}),
        FormSubmission("Demo", "linked@x.example", {"Plan Tier": "Silver"}),
    ],
]


def _stored(project: Project) -> dict[str, list[tuple[object, ...]]]:
    queries = {
        "contacts": "SELECT * FROM contacts ORDER BY id",
        "field_values": "SELECT * FROM field_values ORDER BY contact_id, name_key",
        "companies": "SELECT * FROM companies ORDER BY id",
        "events": "SELECT * FROM events ORDER BY id",
        "memberships": "SELECT * FROM memberships ORDER BY list_id, contact_id",
        "sync_pending": "SELECT * FROM sync_pending ORDER BY contact_id",
        "segment_members": "SELECT * FROM segment_members ORDER BY segment_key, contact_id",
    }
    with project.store.engine.connect() as conn:
        return {name: [tuple(r) for r in conn.exec_driver_sql(q)] for name, q in queries.items()}


def _by_engine(project: Project, batch: list[FormSubmission]) -> None:
    submit_forms(project.store, project.context(NOW), batch)


def _by_intake(project: Project, batch: list[FormSubmission]) -> None:
    assert pg_rows.takes(project.store)
    pg_rows.write_forms(project.store, project.context(NOW), batch)


@pytest.fixture
def opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres_server: str
) -> Iterator[Callable[..., Project]]:
    import uuid

    import psycopg

    projects: list[Project] = []

    def one(name: str, toml: str = FIELDS) -> Project:
        database = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(
            postgres_server.replace("+psycopg", "") + "/postgres", autocommit=True
        ) as admin:
            admin.execute(f'CREATE DATABASE "{database}"')
        monkeypatch.setenv("JOURNEY_DATABASE_URL", f"{postgres_server}/{database}")
        project = open_project(write_project(tmp_path / name, toml), with_journeys=False)
        projects.append(project)
        return project

    yield one
    for project in projects:
        project.close()


def _run(project: Project, write: Writer) -> dict[str, list[tuple[object, ...]]]:
    write(project, BATCHES[0])
    with project.store.begin() as conn:  # the second contact is linked to a Lead
        conn.execute(
            sa.text(
                "UPDATE contacts SET salesforce_id = '00Q5g00000ABCDEFGH', "
                "salesforce_type = 'Lead' WHERE email_key = 'linked@x.example'"
            )
        )
    record_campaign_status(project.store, project.context(NOW), 2, "Spring Webinar", "Sent")
    for batch in BATCHES[1:]:
        write(project, batch)
    return _stored(project)


def test_the_intakes_batches_leave_what_the_engines_path_leaves(
    opened: Callable[..., Project],
) -> None:
    expected = _run(opened("engine"), _by_engine)
    got = _run(opened("intake"), _by_intake)
    assert [len(rows) for rows in got.values()] == [len(rows) for rows in expected.values()]
    assert got == expected
    kinds = [row[1] for row in got["events"]]
    assert "field_changed" in kinds  # the known contacts' changes
    assert "added_to_list" in kinds
    assert got["sync_pending"]  # the linked contact changed: the sync looks at it


def _per_contact(events: list[tuple[object, ...]]) -> dict[object, list[tuple[object, ...]]]:
    out: dict[object, list[tuple[object, ...]]] = {}
    for row in events:
        out.setdefault(row[2], []).append(row[1:])
    return out


def test_with_segments_new_and_known_contacts_enter_them_as_on_the_engines_path(
    opened: Callable[..., Project],
) -> None:
    toml = SEGMENTS + "\n"  # new contacts match as they are made, known ones as they change
    expected = _run(opened("engine-segments", toml), _by_engine)
    got = _run(opened("intake-segments", toml), _by_intake)
    # Each contact's events in the same order; between contacts of one batch the intake
    # writes the known ones' first.
    events = got.pop("events")
    assert _per_contact(events) == _per_contact(expected.pop("events"))
    assert got == expected
    # old@ entered "Acme people" when made and left it for Globex; new@ and other@ entered.
    assert [row[3] for row in events if row[1] == "entered_segment"] == [
        "Acme people",
        "Big teams",
        "Acme people",
    ]
    assert [key for key, _ in got["segment_members"]] == ["acme people", "big teams"]


def test_a_bad_value_refuses_the_batch_before_anything_is_written(
    opened: Callable[..., Project],
) -> None:
    project = opened("bad")
    batch = [
        FormSubmission("Demo", "a@x.example", {"Seats": "3"}),
        FormSubmission("Demo", "b@x.example", {"Seats": "a few"}),
    ]
    with pytest.raises(FieldValueError):
        pg_rows.write_forms(project.store, project.context(NOW), batch)
    assert _stored(project)["contacts"] == []
