"""Schema version 2 adds the sync's tables to a store created at version 1, keeping its
data; a fresh store is created at version 2 directly."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from journey.engine.store import MIGRATIONS, SCHEMA_VERSION, Contact, open_store, table


def test_a_version_1_store_is_migrated(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        MIGRATIONS[0](conn)
        conn.execute(sa.text("INSERT INTO schema_version (version) VALUES (1)"))
        conn.execute(
            sa.insert(table(Contact)).values(email="a@b.example", created_at=now, updated_at=now)
        )
        assert not sa.inspect(conn).has_table("sync_records")
    engine.dispose()
    store = open_store(url)
    try:
        assert store.schema_version() == SCHEMA_VERSION == 2
        with store.begin() as conn:
            names = set(sa.inspect(conn).get_table_names())
            assert {"sync_records", "sync_errors", "sync_pending", "sync_settings"} <= names
            emails = conn.execute(sa.select(table(Contact).c.email)).scalars().all()
        assert emails == ["a@b.example"]
    finally:
        store.close()
