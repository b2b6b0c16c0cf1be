"""Id lists in SQL: cut into batches that fit one ``IN (...)`` clause, or sent whole as one
array.

Pipeline position: used by the modules that read or write contacts in bulk
(``engine.contact_loading``, ``engine.change_effects``, ``engine.intake``,
``engine.triggers``, ``engine.batch_items``), so a batch of 100,000 contacts costs a few
statements per 900 ids rather than one statement per contact, and never more bound
parameters than SQLite allows in one statement (999 in its older builds).

``among`` is the condition "this column is one of these ids". On SQLite it is ``IN (?, …)``.
On PostgreSQL it is ``= ANY(%s)`` with the ids as one array parameter: a statement of 900
placeholders costs psycopg a fresh conversion of its text at every execution (its query
cache skips statements of more than 50 parameters) and the server a fresh parse and
plan, about five times the CPU of the array form, whose text never changes, so psycopg
caches and prepares it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

__all__ = ["IN_BATCH", "among", "id_batches", "in_batches"]

T = TypeVar("T")

#: Ids per ``IN (...)``: under SQLite's historical 999 bound-parameter limit, with room
#: for the statement's other parameters.
IN_BATCH = 900


def in_batches(items: Sequence[T], size: int = IN_BATCH) -> Iterable[Sequence[T]]:
    """Consecutive slices of ``items``, each at most ``size`` long."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def among(
    conn: Connection, column: sa.ColumnElement[Any], ids: Sequence[Any]
) -> sa.ColumnElement[bool]:
    """``column IN ids`` as the connection's database takes it best (module docstring)."""
    if conn.dialect.name == "postgresql":
        values = sa.bindparam(None, list(ids), type_=sa.ARRAY(column.type))
        return column == sa.any_(values)
    return column.in_(list(ids))


def id_batches(conn: Connection, ids: Sequence[T]) -> Iterable[Sequence[T]]:
    """``ids`` cut for ``among``: ``IN_BATCH`` at a time on SQLite, all in one array on
    PostgreSQL (one statement, whose text does not change with the count)."""
    if conn.dialect.name == "postgresql":
        return [ids] if ids else []
    return in_batches(ids)
