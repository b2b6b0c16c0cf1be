"""A new SQLite store made from the recorded head schema is the store Alembic makes: the
same tables, indexes and revision, without loading Alembic; a record that does not fit,
or is not there, costs a migration, never a different store."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from journey.engine import migrations, schema_template
from journey.engine.store import open_store


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("JOURNEY_CACHE_DIR", str(folder))
    return folder


def schema(path: Path) -> list[tuple[str, str, str | None]]:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name")
        return [(str(t), str(n), s) for t, n, s in rows]


def revision_of(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        return [r[0] for r in db.execute("SELECT version_num FROM alembic_version")]


def new_store_in_a_process(path: Path) -> bool:
    """Open a new store at ``path`` in a fresh process; whether Alembic was loaded."""
    probe = (
        "import sys; from journey.engine.store import open_store; "
        f"open_store({f'sqlite:///{path}'!r}).close(); print('alembic' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    return done.stdout.strip() == "True"


def test_the_second_new_store_is_the_first_without_alembic(tmp_path: Path, cache: Path) -> None:
    first, second = tmp_path / "first.db", tmp_path / "second.db"
    assert new_store_in_a_process(first)  # migrated by Alembic, and recorded
    assert len(list(cache.glob("store-schema-*.json"))) == 1
    assert not new_store_in_a_process(second)
    assert schema(second) == schema(first)
    assert revision_of(second) == revision_of(first) == [migrations.head()]
    # It is a store like any other: opened, written, read.
    store = open_store(f"sqlite:///{second}")
    assert store.revision() == migrations.head()
    store.close()


@pytest.mark.parametrize(
    "record", ["{not json", '{"head": "0001_v1", "statements": ["CREATE TABLE x (a)"]}']
)
def test_a_record_that_does_not_fit_costs_a_migration(
    tmp_path: Path, cache: Path, record: str
) -> None:
    migrated = tmp_path / "migrated.db"
    assert new_store_in_a_process(migrated)
    [kept] = cache.glob("store-schema-*.json")
    kept.write_text(record, encoding="utf-8")
    again = tmp_path / "again.db"
    assert new_store_in_a_process(again)  # Alembic did it
    assert schema(again) == schema(migrated)


def test_a_store_holding_data_is_not_recorded(tmp_path: Path, cache: Path) -> None:
    """Only DDL is replayed: a store a revision left rows in (none does today) is not."""
    path = tmp_path / "state.db"
    open_store(f"sqlite:///{path}").close()
    for kept in cache.glob("store-schema-*.json"):
        kept.unlink()
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO lists (name, name_key) VALUES ('Seeded', 'seeded')")
        schema_template.record(conn)
    engine.dispose()
    assert list(cache.glob("store-schema-*.json")) == []
