"""The store's Alembic revisions: the head is what the tables say, on both databases; one
process migrates at a time; a schema this release does not know is refused; the
connector's tables come from the same revisions. (A store made by the previous release:
``test_migrations_previous_release.py``.)"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext

import journey
from journey.connectors.salesforce.state import ConnectorState, RecordLink, UnmigratedStoreError
from journey.engine import migrations
from journey.engine.store import metadata, open_store


def models() -> sa.MetaData:
    """Every table the package declares: the engine's (its metadata, after importing every
    module, so a table added anywhere counts) and the connector's."""
    for module in pkgutil.walk_packages(journey.__path__, "journey."):
        if ".migrations." not in module.name and not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    merged = sa.MetaData()
    for tables in (metadata, RecordLink.metadata):
        for tbl in tables.tables.values():
            tbl.to_metadata(merged)
    return merged


def schema_differences(url: str) -> list[object]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, models()))
    finally:
        engine.dispose()


def test_the_head_revision_is_the_models(store_url: str) -> None:
    """A model changed without a revision (or a revision without its model) fails here."""
    open_store(store_url).close()
    assert schema_differences(store_url) == []


def test_the_check_notices_a_model_without_a_revision(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    open_store(url).close()
    extra = models()
    sa.Table("heartbeats", extra, sa.Column("worker", sa.String(), primary_key=True))
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn)
        diffs = compare_metadata(context, extra)
    engine.dispose()
    assert [d[0] for d in diffs] == ["add_table"]


def test_every_revision_goes_down_and_up_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    open_store(url).close()
    engine = sa.create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
        assert set(sa.inspect(conn).get_table_names()) == {"alembic_version"}
    engine.dispose()
    store = open_store(url)
    assert store.revision() == migrations.head()
    store.close()
    assert schema_differences(url) == []


def test_two_processes_opening_a_new_store_at_once_migrate_it_once(store_url: str) -> None:
    start = threading.Barrier(3)
    failures: list[BaseException] = []

    def open_it() -> None:
        start.wait()
        try:
            open_store(store_url).close()
        except BaseException as error:
            failures.append(error)

    workers = [threading.Thread(target=open_it) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []
    store = open_store(store_url)
    assert store.revision() == migrations.head()
    with store.engine.connect() as conn:
        stamps = conn.execute(sa.text("SELECT COUNT(*) FROM alembic_version")).scalar()
    store.close()
    assert stamps == 1


def test_a_store_from_a_newer_release_is_refused(store_url: str) -> None:
    open_store(store_url).close()
    engine = sa.create_engine(store_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099_future'"))
    engine.dispose()
    with pytest.raises(migrations.StoreVersionError, match=r"'0099_future'.*newer release"):
        open_store(store_url)


def test_a_schema_version_it_cannot_adopt_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE schema_version (version INTEGER PRIMARY KEY)"))
        conn.execute(sa.text("INSERT INTO schema_version VALUES (3)"))
    engine.dispose()
    with pytest.raises(migrations.StoreVersionError, match="schema version 3"):
        open_store(url)


def test_a_version_1_store_is_adopted_and_upgraded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    engine = sa.create_engine(url)
    migrations.upgrade(engine, "0001_v1")
    with engine.begin() as conn:  # what the release before Alembic left: no stamp
        conn.execute(sa.text("DROP TABLE alembic_version"))
        conn.execute(sa.text("INSERT INTO schema_version VALUES (1)"))
    engine.dispose()
    store = open_store(url)
    assert store.revision() == migrations.head()
    tables = set(sa.inspect(store.engine).get_table_names())
    store.close()
    assert {"sync_records", "sf_links"} <= tables
    assert "schema_version" not in tables
    assert schema_differences(url) == []


def test_the_connector_needs_a_migrated_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    with pytest.raises(UnmigratedStoreError, match=r"sf_links.*journey status"):
        ConnectorState(url)
    open_store(url).close()
    state = ConnectorState(url)
    state.put("pause", {"why": "test"})
    assert state.get("pause") == {"why": "test"}
    state.close()


def test_the_migrated_store_still_enforces_foreign_keys(store_url: str) -> None:
    """SQLite migrates with foreign keys off (batch mode copies tables); they come back."""
    store = open_store(store_url)
    try:
        with pytest.raises(sa.exc.IntegrityError), store.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO memberships (list_id, contact_id, added_at) "
                    "VALUES (41, 42, '2026-03-02 09:00:00')"
                )
            )
    finally:
        store.close()


@pytest.mark.postgres
def test_leases_are_kept_out_of_the_write_ahead_log_on_postgres(postgres_url: str) -> None:
    """A lease is worth nothing beyond its server's sessions (0017): unlogged, and logged
    again when the revision is undone."""
    open_store(postgres_url).close()
    engine = sa.create_engine(postgres_url)
    persistence = sa.text("SELECT relpersistence FROM pg_class WHERE relname = 'contact_leases'")
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    try:
        with engine.begin() as conn:
            assert conn.execute(persistence).scalar_one() == "u"
            config.attributes["connection"] = conn
            command.downgrade(config, "0016_effects_pending")
            assert conn.execute(persistence).scalar_one() == "p"
            command.upgrade(config, "head")
            assert conn.execute(persistence).scalar_one() == "u"
    finally:
        engine.dispose()
