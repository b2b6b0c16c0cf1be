"""The sync's tables arrive with revision ``0002_v2_sync`` on a store at the first
revision, keeping its data; a fresh store is created at the head directly."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from journey.engine import migrations
from journey.engine.store import Contact, open_store


def test_a_version_1_store_is_migrated(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    now = datetime.now(UTC)
    migrations.upgrade(engine, "0001_v1")
    with engine.begin() as conn:
        conn.execute(sa.insert(Contact).values(email="a@b.example", created_at=now, updated_at=now))
        assert not sa.inspect(conn).has_table("sync_records")
    engine.dispose()
    store = open_store(url)
    try:
        assert store.revision() == migrations.head()
        with store.begin() as conn:
            names = set(sa.inspect(conn).get_table_names())
            assert {"sync_records", "sync_errors", "sync_pending", "sync_settings"} <= names
            emails = conn.execute(sa.select(Contact.c.email)).scalars().all()
        assert emails == ["a@b.example"]
    finally:
        store.close()
