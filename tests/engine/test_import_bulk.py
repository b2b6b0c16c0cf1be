"""The bulk import path writes exactly what the row-by-row path writes.

``engine.bulk_import`` writes a file's new contacts a table at a time (``COPY`` on
PostgreSQL, multi-row ``VALUES`` on SQLite); ``import_rows(..., bulk=False)``
writes them one statement per row through ``contacts.write_contacts``, as every other
contact change is written. On random files — repeated emails in other letter cases,
Salesforce IDs in 15 and 18 characters (some already linked in the store, some naming the
contact of another email), refused values, companies, a list that is a Salesforce list —
imported over the same existing contacts, both leave the same store behind: contacts and
their IDs, field values, lists and memberships, companies, segments, events, the sync's
marks, and the same report. On SQLite and on PostgreSQL.

``journey contacts import`` itself reads the file with ``engine.csv_import.import_file``
(columns decided once per file, rows as lists of cells); it is held to the same reference
on the same files written as CSV: over contacts the store holds (one linked to a record
under another letter case of its email, as the sync writes it), and with one contact's
rows repeated inside the file.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journey.dsl import parse_condition
from journey.emulator.ids import to_18
from journey.engine import csv_import, intake
from journey.engine.conditions import Evaluator
from journey.engine.config import STANDARD_FIELDS
from journey.engine.contacts import ContactContext
from journey.engine.csv_import import import_file
from journey.engine.intake import ImportReport, import_rows
from journey.engine.store import Store, open_store

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
FIELDS = {**STANDARD_FIELDS, "Score": "Number"}
LEADS = [f"00Q00000000{n:04d}" for n in range(1, 5)]
CONTACTS = [f"00300000000{n:04d}" for n in range(1, 4)]
EMAILS = ["ann@x.example", "bob@x.example", "cy@x.example", "dee@x.example"]

#: What the store holds before the random file: two contacts (one linked), one company.
EXISTING = [
    (2, {"Email": "ann@x.example", "Company": "Initech", "Score": "10"}),
    (3, {"Email": "bob@x.example", "Salesforce ID": LEADS[0], "First Name": "Bob"}),
    (4, {"Email": "Dee@X.Example", "Salesforce ID": CONTACTS[0], "Score": "70"}),
]


def cased(email: str) -> st.SearchStrategy[str]:
    return st.sampled_from([email, email.upper(), email.title()])


def salesforce_id(ident: str) -> st.SearchStrategy[str]:
    return st.sampled_from([ident, to_18(ident)])


row = st.fixed_dictionaries(
    {},
    optional={
        "Email": st.sampled_from(EMAILS).flatmap(cased) | st.just(""),
        "Salesforce ID": st.sampled_from(LEADS + CONTACTS).flatmap(salesforce_id),
        "First Name": st.sampled_from(["Ann", "Bo", ""]),
        "Company": st.sampled_from(["Initech", "INITECH", "Globex", ""]),
        "Score": st.sampled_from(["5", "70", "not a number", ""]),
        "Lead Owner": st.sampled_from(["pat@corp.example", "005000000000001", "Pat Lee", ""]),
    },
)
files = st.lists(row, max_size=14).map(lambda rows: [(n + 2, r) for n, r in enumerate(rows)])
lists = st.sampled_from([None, "Webinar", "Salesforce Leads"])


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """Makes a fresh, empty store of the parametrised kind each time it is called."""
    opened: list[Store] = []

    def make() -> Store:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / uuid.uuid4().hex}.db"
        else:
            import psycopg

            base = str(request.getfixturevalue("postgres_server"))
            name = "b_" + uuid.uuid4().hex[:12]
            plain = base.replace("postgresql+psycopg://", "postgresql://")
            with psycopg.connect(plain + "/postgres", autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            url = f"{base}/{name}"
        store = open_store(url)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def context() -> ContactContext:
    segments = {"Keen": parse_condition('field "Score" > 50')}
    return ContactContext(FIELDS, Evaluator(segments, FIELDS), NOW)


TABLES = {
    "contacts": "SELECT * FROM contacts ORDER BY id",
    "field_values": "SELECT * FROM field_values ORDER BY contact_id, name_key",
    "lists": "SELECT * FROM lists ORDER BY id",
    "memberships": "SELECT * FROM memberships ORDER BY list_id, contact_id",
    "companies": "SELECT * FROM companies ORDER BY id",
    "segment_members": "SELECT * FROM segment_members ORDER BY segment_key, contact_id",
    "events": "SELECT kind, contact_id, name, value, at, processed FROM events ORDER BY id",
    "sync_pending": "SELECT * FROM sync_pending ORDER BY contact_id",
}


def dump(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    with store.begin() as conn:
        return {name: [tuple(r) for r in conn.execute(sa.text(q))] for name, q in TABLES.items()}


def imported(
    store: Store, rows: list[tuple[int, dict[str, str]]], list_name: str | None, bulk: bool
) -> ImportReport:
    import_rows(store, EXISTING, context(), bulk=False)
    return import_rows(store, rows, context(), list_name, bulk=bulk)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=files, list_name=lists)
def test_bulk_and_row_by_row_leave_the_same_store(
    new_store: Any, rows: list[tuple[int, dict[str, str]]], list_name: str | None
) -> None:
    bulk, reference = new_store(), new_store()
    assert imported(bulk, rows, list_name, True) == imported(reference, rows, list_name, False)
    assert dump(bulk) == dump(reference)


def test_a_large_file_with_repeats_matches_row_by_row(
    new_store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three batches, with every fifth row an earlier contact in capitals (some of them
    in the batch before)."""
    monkeypatch.setattr(intake, "BATCH", 1_000)
    rows = [
        (n + 2, {"Email": (f"P{n - 3}@X.EXAMPLE" if n % 5 == 4 else f"p{n}@x.example")})
        for n in range(2_500)
    ]
    bulk, reference = new_store(), new_store()
    report = imported(bulk, rows, "Webinar", True)
    assert report == imported(reference, rows, "Webinar", False)
    assert report.created == 2_000
    assert dump(bulk) == dump(reference)


COLUMNS = ["Email", "Salesforce ID", "First Name", "Company", "Score", "Lead Owner"]


def write_file(path: Path, rows: list[tuple[int, dict[str, str]]]) -> Path:
    """The rows as a CSV (a row with no cell at all becomes a row of empty cells)."""
    import csv

    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for _, values in rows:
            writer.writerow([values.get(c, "") for c in COLUMNS])
    return path


def from_file(store: Store, path: Path, list_name: str | None, fast: bool) -> ImportReport:
    import_rows(store, EXISTING, context(), bulk=False)
    if fast:
        return import_file(store, path, context(), list_name)
    return import_rows(store, intake.read_csv(path), context(), list_name, bulk=False)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=files, list_name=lists)
def test_the_command_leaves_the_store_the_row_by_row_path_leaves(
    new_store: Any,
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[tuple[int, dict[str, str]]],
    list_name: str | None,
) -> None:
    path = write_file(tmp_path_factory.mktemp("csv") / "people.csv", rows)
    fast, reference = new_store(), new_store()
    assert from_file(fast, path, list_name, True) == from_file(reference, path, list_name, False)
    assert dump(fast) == dump(reference)


def test_the_command_matches_row_by_row_over_batches_of_existing_and_repeated_contacts(
    new_store: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three batches imported twice: first over an empty store, then again with every
    contact existing and every fifth row an earlier contact in capitals with new values."""
    monkeypatch.setattr(csv_import, "BATCH", 1_000)
    monkeypatch.setattr(intake, "BATCH", 1_000)
    first = [(n + 2, {"Email": f"p{n}@x.example", "Score": str(n % 7)}) for n in range(2_500)]
    again = [
        (
            n + 2,
            {"Email": f"P{n - 3}@X.EXAMPLE", "First Name": f"Al{n}", "Score": "70"}
            if n % 5 == 4
            else {"Email": f"p{n}@x.example", "Score": str(n % 7)},
        )
        for n in range(2_500)
    ]
    paths = [write_file(tmp_path / f"{n}.csv", r) for n, r in enumerate([first, again])]
    fast, reference = new_store(), new_store()
    reports = []
    for path in paths:
        done = import_file(fast, path, context(), "Webinar")
        assert done == import_rows(
            reference, intake.read_csv(path), context(), "Webinar", bulk=False
        )
        reports.append(done)
    assert reports[0].created == 2_500
    assert (reports[1].created, reports[1].updated) == (0, 500)
    assert dump(fast) == dump(reference)


def test_a_sqlite_of_the_old_parameter_limit_stores_the_same(tmp_path: Path) -> None:
    """SQLite before 3.32 takes at most 999 bound parameters a statement: the new contacts'
    rows go in statements of fewer rows, and the store is the same."""
    import sqlite3

    rows = [
        (n + 2, {"Email": f"p{n}@x.example", "Company": f"Co {n % 9}", "Score": str(n % 7)})
        for n in range(1_234)
    ]
    path = write_file(tmp_path / "people.csv", rows)
    stores = [open_store(f"sqlite:///{tmp_path / name}.db") for name in ("old", "reference")]
    old, reference = stores

    def lower_limit(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)

    old.engine.dispose()
    sa.event.listen(old.engine, "connect", lower_limit)
    try:
        report = import_file(old, path, context(), "Webinar")
        assert report == import_rows(reference, intake.read_csv(path), context(), "Webinar")
        assert report.created == 1_234
        assert dump(old) == dump(reference)
    finally:
        for store in stores:
            store.close()


@pytest.mark.postgres
def test_new_contacts_keep_their_own_values_when_another_writer_draws_ids_meanwhile(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another session drawing contact IDs between a file's batches leaves gaps in the
    sequence: each new contact still has its own field values and list, under its ID."""
    import psycopg

    monkeypatch.setattr(csv_import, "BATCH", 10)
    rows = [(n + 2, {"Email": f"p{n}@x.example", "Score": str(n)}) for n in range(35)]
    path = write_file(tmp_path / "people.csv", rows)
    store = open_store(postgres_url)
    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(plain, autocommit=True) as other:

            def draw(_rows: int, _done: int) -> None:
                other.execute(
                    "SELECT nextval(pg_get_serial_sequence('contacts', 'id')) "
                    "FROM generate_series(1, 3)"
                )

            draw(0, 0)
            report = import_file(store, path, context(), "Webinar", progress=draw)
        assert report.created == 35
        with store.begin() as conn:
            stored = conn.execute(
                sa.text(
                    "SELECT c.id, c.email, f.text, l.name FROM contacts c "
                    "JOIN field_values f ON f.contact_id = c.id AND f.name_key = 'score' "
                    "JOIN memberships m ON m.contact_id = c.id JOIN lists l ON l.id = m.list_id "
                    "ORDER BY c.id"
                )
            ).all()
        assert [(email, score, name) for _, email, score, name in stored] == [
            (f"p{n}@x.example", str(n), "Webinar") for n in range(35)
        ]
        ids = [row.id for row in stored]
        assert ids[0] == 4  # after the other session's first three
        assert ids[10] == ids[9] + 4  # and the three it drew after the first batch
    finally:
        store.close()
