"""What the store's tables need of SQL beyond SQLAlchemy's core: an ``INSERT`` that meets
a row another process wrote a moment ago without failing (``ON CONFLICT``).

Pipeline position: under the engine's writers (``engine.store``, ``engine.contacts``,
``engine.change_effects``) and the connectors' own tables (``salesforce.state``,
``salesforce.budget``, ``notify.outbox``), which many workers on one PostgreSQL store
write at once. One place says which dialect's ``insert`` has the clauses, rather than each
writer choosing.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

__all__ = ["upsert"]


def upsert(conn: Connection, table: sa.Table) -> Any:
    """``INSERT`` with the ``ON CONFLICT`` clauses of the store's database (PostgreSQL or
    SQLite, the two the store supports, both of which have them)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)
