"""Many rows in one statement on PostgreSQL: each column sent as one array, read by ``unnest``.

Pipeline position: under the writers that store small batches often (``engine.contacts``'
``write_contacts``, ``engine.intake``'s form events), on PostgreSQL only. A driver's
``executemany`` is a statement per row (pipelined, yet each row is planned and run, and the
pipeline's synchronisation is one more round trip); here the batch is one statement, and its
text depends only on the table and columns, never on the row count, so psycopg prepares it
after a few uses and the server plans it once per connection. On a loaded machine the round
trips, not the rows, are what a batch of form posts waits for. Other databases return
``False`` and the caller writes its rows the ordinary way (SQLite's ``executemany`` runs in
the process, with no round trip to save).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

__all__ = ["delete_rows", "insert_returning", "insert_rows", "pipelined", "update_rows"]

_CASTS: dict[tuple[str, str], str] = {}


def _cast(conn: Connection, column: sa.Column[Any]) -> str:
    key = (column.table.name, column.name)
    if key not in _CASTS:
        _CASTS[key] = column.type.compile(dialect=conn.dialect)
    return _CASTS[key]


def _arrays(
    conn: Connection, tbl: sa.Table, names: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> tuple[str, list[list[Any]]]:
    """``unnest(%s::type[], ...)`` for ``names`` and the columns' values as lists."""
    casts = [_cast(conn, tbl.c[n]) for n in names]
    arrays: list[list[Any]] = []
    for name, cast in zip(names, casts, strict=True):
        values = [r[name] for r in rows]
        if cast in ("FLOAT", "DOUBLE PRECISION", "REAL"):
            # One array holds one type: an int among floats would be refused by the driver.
            values = [None if v is None else float(v) for v in values]
        arrays.append(values)
    unnest = ", ".join(f"%s::{cast}[]" for cast in casts)
    return f"unnest({unnest})", arrays


def insert_rows(
    conn: Connection,
    tbl: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    conflict: Sequence[str] = (),
    replace: Sequence[str] = (),
) -> bool:
    """``INSERT`` the rows (all with the same keys) in one statement; with ``conflict``
    (the unique columns), a row already stored has its ``replace`` columns replaced, as
    ``ON CONFLICT DO UPDATE`` does. Two rows of one key in the batch: the later one is
    kept, as statements run one after the other would leave it. ``False`` (nothing done)
    on a database other than PostgreSQL."""
    if conn.dialect.name != "postgresql":
        return False
    if not rows:
        return True
    if conflict:
        latest = {tuple(r[c] for c in conflict): r for r in rows}
        rows = list(latest.values())
    names = list(rows[0])
    source, arrays = _arrays(conn, tbl, names, rows)
    sql = f"INSERT INTO {tbl.name} ({', '.join(names)}) SELECT * FROM {source}"
    if conflict:
        sets = ", ".join(f"{n} = EXCLUDED.{n}" for n in replace)
        action = f"DO UPDATE SET {sets}" if replace else "DO NOTHING"
        sql += f" ON CONFLICT ({', '.join(conflict)}) {action}"
    conn.exec_driver_sql(sql, tuple(arrays))
    return True


def insert_returning(
    conn: Connection,
    tbl: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    returning: Sequence[str],
    *,
    conflict: Sequence[str] = (),
    conflict_where: str | None = None,
) -> list[tuple[Any, ...]] | None:
    """``INSERT`` the rows (all with the same keys) in one statement and return the
    ``returning`` columns of those stored; with ``conflict`` (and the partial unique
    index's ``conflict_where``), a row the index refuses is skipped (``DO NOTHING``) and
    has no returned row. ``None`` (nothing done) elsewhere than PostgreSQL. SQLAlchemy's
    ``insert().returning()`` of many rows sends every value as a parameter of its own: a
    statement of thousands of parameters, parsed and planned at each batch."""
    if conn.dialect.name != "postgresql":
        return None
    if not rows:
        return []
    names = list(rows[0])
    source, arrays = _arrays(conn, tbl, names, rows)
    sql = f"INSERT INTO {tbl.name} ({', '.join(names)}) SELECT * FROM {source}"
    if conflict:
        sql += f" ON CONFLICT ({', '.join(conflict)})"
        if conflict_where:
            sql += f" WHERE {conflict_where}"
        sql += " DO NOTHING"
    sql += f" RETURNING {', '.join(returning)}"
    return [tuple(r) for r in conn.exec_driver_sql(sql, tuple(arrays)).all()]


def delete_rows(
    conn: Connection, tbl: sa.Table, keys: Sequence[str], rows: Sequence[Sequence[Any]]
) -> bool:
    """``DELETE FROM tbl WHERE (keys) = row`` for every row (tuples in ``keys`` order), in
    one statement; ``False`` (nothing done) elsewhere than PostgreSQL."""
    if conn.dialect.name != "postgresql":
        return False
    if not rows:
        return True
    casts = [_cast(conn, tbl.c[k]) for k in keys]
    columns = [list(c) for c in zip(*rows, strict=True)]
    unnest = ", ".join(f"%s::{cast}[]" for cast in casts)
    names = ", ".join(f"k{i}" for i in range(len(keys)))
    match = " AND ".join(f"{tbl.name}.{k} = d.k{i}" for i, k in enumerate(keys))
    sql = f"DELETE FROM {tbl.name} USING unnest({unnest}) AS d({names}) WHERE {match}"
    conn.exec_driver_sql(sql, tuple(columns))
    return True


def update_rows(
    conn: Connection, tbl: sa.Table, key: str, rows: Sequence[Mapping[str, Any]], key_param: str
) -> bool:
    """``UPDATE tbl SET ... WHERE key = row[key_param]`` for every row, in one statement
    (two rows for one key: the later one wins). ``False`` elsewhere than PostgreSQL."""
    if conn.dialect.name != "postgresql":
        return False
    if not rows:
        return True
    rows = list({r[key_param]: r for r in rows}.values())
    names = [n for n in rows[0] if n != key_param]
    renamed = [{**r, key: r[key_param]} for r in rows]
    source, arrays = _arrays(conn, tbl, [key, *names], renamed)
    sets = ", ".join(f"{n} = u.{n}" for n in names)
    columns = ", ".join([key, *names])
    # The keys once more, as ``= ANY``, so the server finds the rows by the key's index
    # rather than hashing the whole table (``bulk_rows.update_rows`` says why).
    keys = f"%s::{_cast(conn, tbl.c[key])}[]"
    sql = (
        f"UPDATE {tbl.name} SET {sets} FROM {source} AS u({columns}) "
        f"WHERE {tbl.name}.{key} = u.{key} AND {tbl.name}.{key} = ANY({keys})"
    )
    conn.exec_driver_sql(sql, (*arrays, arrays[0]))
    return True


@contextlib.contextmanager
def pipelined(conn: Connection) -> Iterator[None]:
    """Statements inside are sent without waiting for each one's answer until a result is
        read (psycopg's pipeline mode, PostgreSQL only): the transaction's ``BEGIN`` travels
        with its first query, and the writes whose results nobody reads (updates, inserts
        without ``RETURNING``, the ``NOTIFY``) travel with the next read or the end of the
        block, where an error in any of them is raised. A statement inside that reads a result
    would find none yet: only writes go in. Elsewhere, nothing changes."""
    if conn.dialect.name != "postgresql":
        yield
        return
    import psycopg

    driver = conn.connection.driver_connection
    try:
        with driver.pipeline():  # type: ignore[union-attr]
            yield
    except psycopg.Error as exc:
        # Raised by the pipeline's end, outside any statement SQLAlchemy ran: wrapped as
        # SQLAlchemy would have (IntegrityError, OperationalError, ...), which is what the
        # callers catch.
        raise sa.exc.DBAPIError.instance(None, None, exc, psycopg.Error) from exc
