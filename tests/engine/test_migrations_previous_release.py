"""A store made by the previous release (before Alembic), with data in it, opened by this
one: every row kept, the schema at head and equal to the models, and the engine carries
on — waiting runs move on, acting on the Salesforce records the connector linked then.

The store and its embedded emulated org are ``fixtures/previous_release_*.sql``, dumped
after ``journey demo`` of the previous release (``fixtures/make_previous_release_store.py``
says how). On PostgreSQL the same rows go into the released DDL (revisions 0001 and 0002,
``schema_version`` 2, and the connector's tables as that release's ``ConnectorState``
created them), as a store that release ran on PostgreSQL would hold them.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from journey.connectors.factory import open_connector
from journey.connectors.salesforce.state import RecordLink
from journey.emulator import EmulatedOrg
from journey.engine import migrations
from journey.engine.config import load_config
from journey.engine.project import open_project
from journey.engine.scaffold import copy_project
from journey.engine.store import metadata
from journey.example import example_project
from tests.engine.test_migrations import schema_differences

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
#: After every wait the demo left running (the last is due on 31 March).
LATER = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)


def restore(sql: str, database: Path) -> None:
    database.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(database)
    db.executescript((FIXTURES / sql).read_text())
    db.close()


def copy_to_postgres(source: Path, url: str) -> None:
    """The previous release's rows in the previous release's PostgreSQL schema."""
    engine = sa.create_engine(url)
    migrations.upgrade(engine, "0002_v2_sync")
    old = sa.create_engine(f"sqlite:///{source}")
    present = set(sa.inspect(old).get_table_names())  # not the tables added since
    tables = [
        t
        for t in (*metadata.sorted_tables, *RecordLink.metadata.sorted_tables)
        if t.name in present
    ]
    with engine.begin() as conn, old.connect() as reading:
        conn.execute(sa.text("DROP TABLE alembic_version"))
        conn.execute(sa.text("INSERT INTO schema_version VALUES (2)"))
        RecordLink.metadata.create_all(conn)
        # The previous release's connector tables had no index on the journal's contacts.
        conn.execute(sa.text("DROP INDEX ix_sf_effects_contact_id"))
        # Nor the API count's table, nor the journal's turns (revision 0012).
        conn.execute(sa.text("DROP TABLE sf_api_calls"))
        conn.execute(sa.text("ALTER TABLE sf_effects DROP COLUMN turn"))
        for tbl in tables:
            # (the old columns only: a model may have gained some since)
            had = {c["name"] for c in sa.inspect(old).get_columns(tbl.name)}
            query = sa.select(*[c for c in tbl.c if c.name in had])
            rows = [dict(r._mapping) for r in reading.execute(query)]
            if rows:
                conn.execute(sa.insert(tbl), rows)
            if [c.name for c in tbl.primary_key] == ["id"]:
                conn.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{tbl.name}', 'id'), "
                        f"COALESCE(MAX(id), 1)) FROM {tbl.name}"
                    )
                )
    old.dispose()
    engine.dispose()


def row_counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        names = set(sa.inspect(conn).get_table_names()) - {"alembic_version", "schema_version"}
        counts = {
            n: int(conn.execute(sa.text(f"SELECT COUNT(*) FROM {n}")).scalar() or 0) for n in names
        }
    engine.dispose()
    return counts


def org_records(org: EmulatedOrg, sobject: str) -> int:
    return len(org.store.scan(sobject))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def previous_project(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, str]:
    """The example project with the previous release's store and org; its store URL."""
    project = tmp_path / "project"
    project.mkdir()
    copy_project(example_project(), project)
    restore("previous_release_org.sql", project / ".journey" / "emulator" / "org.db")
    if request.param == "sqlite":
        monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
        restore("previous_release_store.sql", project / ".journey" / "state.db")
        return project, f"sqlite:///{project / '.journey' / 'state.db'}"
    url = str(request.getfixturevalue("postgres_url"))
    restore("previous_release_store.sql", tmp_path / "old.db")
    copy_to_postgres(tmp_path / "old.db", url)
    monkeypatch.setenv("JOURNEY_DATABASE_URL", url)
    return project, url


def test_a_store_of_the_previous_release_is_migrated_and_carries_on(
    previous_project: tuple[Path, str],
) -> None:
    project, url = previous_project
    before = row_counts(url)
    assert before["runs"] == 30
    assert before["sf_links"] == 13
    assert before["sync_records"] == 21

    handle = open_connector(load_config(project))  # migrates the store, then the connector
    opened = open_project(project, connector=handle.connector, now=LATER)
    try:
        assert opened.store.revision() == migrations.head()
        after = row_counts(url)
        # Today's versions of the three journeys are published beside the old ones (a
        # version hashes the step-id scheme too); the old runs keep theirs.
        assert after.pop("journey_versions") == before["journey_versions"] + 3
        # The four Leads converted to Contacts were in both Salesforce lists; revision
        # 0006 leaves them in "Salesforce Contacts" only.
        assert after.pop("memberships") == before["memberships"] - 4
        # The API count moves from a setting to its own table (revision 0012).
        assert after.pop("sf_settings") == before["sf_settings"] - 1
        assert after.pop("sf_api_calls") == 1
        # Each of the three journeys has its published version (revision 0013 gives each
        # name its latest, and opening the project publishes today's).
        assert after.pop("published_journeys") == 3
        # Tables this release adds start empty; every old table keeps its rows.
        added = {k: v for k, v in after.items() if k not in before}
        assert added == {
            "notification_outbox": 0,
            "link_reads": 0,
            "contact_leases": 0,
            "workers": 0,
        }
        after = {k: v for k, v in after.items() if k in before}
        unchanged = ("journey_versions", "memberships", "sf_settings")
        assert after == {k: v for k, v in before.items() if k not in unchanged}
        assert schema_differences(url) == []
        assert handle.org is not None
        leads, contacts = org_records(handle.org, "Lead"), org_records(handle.org, "Contact")
        with opened.store.engine.connect() as conn:
            waiting = dict(
                conn.execute(sa.text("SELECT id, seq FROM runs WHERE status = 'waiting'")).all()
            )
        assert len(waiting) == 9

        report = opened.runner().run_until_idle(LATER)

        assert (report.failed, report.entered) == (0, 0)
        assert report.effects > 0
        with opened.store.engine.connect() as conn:
            moved = dict(conn.execute(sa.text("SELECT id, seq FROM runs")).all())
            due = conn.execute(
                sa.text("SELECT COUNT(*) FROM runs WHERE status = 'waiting' AND next_due <= :t"),
                {"t": LATER},
            ).scalar()
        assert all(moved[run] > seq for run, seq in waiting.items())  # every one moved on
        assert due == 0
        # The actions went to the records linked by the previous release: none created again.
        assert (org_records(handle.org, "Lead"), org_records(handle.org, "Contact")) == (
            leads,
            contacts,
        )
        assert row_counts(url)["sf_links"] == 13
    finally:
        opened.close()
        handle.close()
