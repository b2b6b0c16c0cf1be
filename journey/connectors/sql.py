"""What the connectors' tables need of SQL beyond SQLAlchemy's core: an ``INSERT`` that
meets a row another process wrote a moment ago without failing.

Pipeline position: under ``salesforce.state`` and ``notify.outbox``, which many workers on
one PostgreSQL store write at once.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

__all__ = ["upsert"]


def upsert(conn: Connection, table: sa.Table) -> Any:
    """``INSERT`` with the ``ON CONFLICT`` clauses of the store's database (PostgreSQL or
    SQLite, the two the store supports, both of which have them)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
