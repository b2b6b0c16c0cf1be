"""Many rows in one go: the set-based ``INSERT`` and ``UPDATE`` of the engine's hot paths.

Pipeline position: runner (``engine.batch_writes``) and intake -> **bulk_rows** -> the
database driver. A pass writes thousands of rows per table per batch; written through
SQLAlchemy's per-row parameter machinery, or as one statement per row, the writing costs
more than the deciding. So the rows arrive as tuples in the table's column order and go
to the driver as they are:

* SQLite: new rows as multi-row ``INSERT … VALUES`` statements of hundreds of rows each
  (``_sqlite_values``), updates and deletes as one ``executemany`` — the driver binds
  each row in C, and the file is local, so a statement per row costs no round trip.
* PostgreSQL: one statement for the whole batch rather than one per row. New rows go by
  ``COPY … FROM STDIN`` (the server's bulk path; psycopg formats the rows in C). Updates
  send their columns as arrays, in binary: ``UPDATE … FROM unnest($1::integer[], …)``;
  the text depends only on the table and the column names, never on the number of rows,
  so psycopg prepares it (after ``prepare_threshold`` executions on one connection) and
  the server plans it once per session. Binary, because the server parsing a text array
  of 10,000 strings costs more than the update itself.

Values go through each column type's bind processing (memoised per value: a batch mostly
repeats a few values, its clock among them), so the stored values are the ones
``conn.execute(sa.insert(table), rows)`` would store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from itertools import chain
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

__all__ = [
    "delete_rows",
    "insert_bound",
    "insert_rows",
    "inserted_ids",
    "update_rows",
    "upsert_rows",
    "value_binder",
]

Row = Sequence[Any]


def _binder(conn: Connection, column: sa.Column[Any]) -> Callable[[Any], Any] | None:
    """The column type's bind processing, memoised per value (module docstring)."""
    process = column.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    if process is None:
        return None
    memo: dict[Any, Any] = {}

    def bind(value: Any) -> Any:
        if value is None:
            return None
        try:
            return memo[value]
        except KeyError:
            memo[value] = result = process(value)
            return result
        except TypeError:  # unhashable
            return process(value)

    return bind


def _columns(
    conn: Connection, tbl: sa.Table, names: Sequence[str], rows: Sequence[Row]
) -> list[Sequence[Any]]:
    """The rows turned into one bound sequence per column (a transposition in C, then the
    bind processing of the columns that have one)."""
    columns: list[Sequence[Any]] = list(zip(*rows, strict=True))
    for index, name in enumerate(names):
        bind = _binder(conn, tbl.c[name])
        if bind is not None:
            columns[index] = [bind(v) for v in columns[index]]
    return columns


def _bound_rows(
    conn: Connection, tbl: sa.Table, names: Sequence[str], rows: Sequence[Row]
) -> Sequence[Row]:
    if not any(_binder(conn, tbl.c[n]) for n in names):
        return rows
    return list(zip(*_columns(conn, tbl, names, rows), strict=True))


@lru_cache(maxsize=256)
def _array_type(tbl: sa.Table, name: str, dialect: sa.Dialect) -> str:
    return f"{tbl.c[name].type.compile(dialect=dialect)}[]"


def _arrays(conn: Connection, tbl: sa.Table, names: Sequence[str]) -> str:
    """The placeholders of binary (``%b``) arrays, cast to the columns' types."""
    return ", ".join(f"%b::{_array_type(tbl, n, conn.dialect)}" for n in names)


def _quoted(conn: Connection, names: Sequence[str]) -> list[str]:
    quote = conn.dialect.identifier_preparer.quote
    return [quote(n) for n in names]


def _is_postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg"


def _column_types(conn: Connection, tbl: sa.Table, names: Sequence[str]) -> list[int]:
    """The columns' type OIDs as the server has them (what a binary ``COPY`` must send),
    asked once per session and table."""
    cache: dict[str, dict[str, int]] = conn.connection.info.setdefault("journey_column_oids", {})
    known = cache.get(tbl.name)
    if known is None or any(n not in known for n in names):
        rows = conn.exec_driver_sql(
            "SELECT attname, atttypid::integer FROM pg_attribute"
            " WHERE attrelid = to_regclass(%(table)s) AND attnum > 0 AND NOT attisdropped",
            {"table": _quoted(conn, [tbl.name])[0]},
        )
        known = cache[tbl.name] = {str(name): int(oid) for name, oid in rows}
    return [known[n] for n in names]


def _copy(conn: Connection, sql: str, rows: Sequence[Row], types: list[int] | None) -> None:
    """``COPY … FROM STDIN`` on the driver's own connection (SQLAlchemy has no COPY), in
    the same transaction; the driver's errors raised as SQLAlchemy's, as its own
    statements' are (a duplicate key is an ``IntegrityError`` the claims' fence reads).
    With ``types``, in binary: each value written as its column's bytes, which costs
    the driver a fifth of the CPU of the text form and spares the server parsing it."""
    driver: Any = conn.connection.driver_connection
    dbapi_error = conn.dialect.loaded_dbapi.Error
    if types is not None:
        sql += " (FORMAT BINARY)"
    try:
        with driver.cursor() as cursor, cursor.copy(sql) as copy:
            if types is not None:
                copy.set_types(types)
            for row in rows:
                copy.write_row(row)
    except dbapi_error as exc:
        raise sa.exc.DBAPIError.instance(sql, None, exc, dbapi_error) from exc


def value_binder(conn: Connection, column: sa.Column[Any]) -> Callable[[Any], Any]:
    """The column type's bind processing as one callable (the value itself where the type
    has none), memoised per value, for a writer that binds its rows as it makes them."""
    return _binder(conn, column) or _as_is


def _as_is(value: Any) -> Any:
    return value


def insert_bound(
    conn: Connection, tbl: sa.Table, names: Sequence[str], bound: Sequence[Row]
) -> None:
    """``insert_rows(binary=True)`` of rows bound already (``value_binder``): a binary
    ``COPY`` on PostgreSQL, multi-row ``VALUES`` on SQLite."""
    if not bound:
        return
    if _is_postgres(conn):
        _copy_rows(conn, tbl, names, bound, binary=True)
        return
    _sqlite_values(conn, tbl, names, bound)


def _copy_rows(
    conn: Connection, tbl: sa.Table, names: Sequence[str], bound: Sequence[Row], *, binary: bool
) -> None:
    """``COPY tbl (names) FROM STDIN`` of bound rows, in binary where ``binary``."""
    target, columns = _quoted(conn, [tbl.name])[0], ", ".join(_quoted(conn, names))
    types = _column_types(conn, tbl, names) if binary else None
    _copy(conn, f"COPY {target} ({columns}) FROM STDIN", bound, types)


def insert_rows(
    conn: Connection,
    tbl: sa.Table,
    names: Sequence[str],
    rows: Sequence[Row],
    *,
    binary: bool = False,
) -> None:
    """``INSERT INTO tbl (names) VALUES …`` for every row (tuples in ``names`` order), in
    the caller's transaction, in one statement per batch (module docstring). ``binary``:
    the caller vouches that every value is of its column's Python type (``int`` for an
    integer, ``str`` for text, a ``datetime`` for a timestamp — aware, as the column
    types insist — or ``None``), so PostgreSQL gets the rows as a binary ``COPY``; a
    value of another type would be refused there, where the text form would have had the
    server convert it."""
    if not rows:
        return
    if _is_postgres(conn):
        _copy_rows(conn, tbl, names, _bound_rows(conn, tbl, names, rows), binary=binary)
        return
    if conn.dialect.name != "sqlite":  # pragma: no cover (other databases)
        conn.execute(sa.insert(tbl), [dict(zip(names, r, strict=True)) for r in rows])
        return
    _sqlite_insert(conn, tbl, names, rows)


#: Rows per multi-row ``INSERT`` on SQLite, at most (within the connection's limit on
#: parameters, ``_parameter_limit``).
_ROWS_PER_INSERT = 500


def _parameter_limit(conn: Connection) -> int:
    """The most bound parameters one statement of this SQLite connection takes: 32,766
    since SQLite 3.32, 999 before (and where the driver cannot say)."""
    import sqlite3  # loaded already wherever a SQLite store is open

    driver: Any = conn.connection.driver_connection
    try:
        return int(driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    except AttributeError:  # a driver connection without ``getlimit``
        return 999


def _sqlite_insert(
    conn: Connection, tbl: sa.Table, names: Sequence[str], rows: Sequence[Row], tail: str = ""
) -> int:
    """``_sqlite_values`` of the rows, bound through their columns' types first."""
    return _sqlite_values(conn, tbl, names, _bound_rows(conn, tbl, names, rows), tail)


def _sqlite_values(
    conn: Connection, tbl: sa.Table, names: Sequence[str], bound: Sequence[Row], tail: str = ""
) -> int:
    """``INSERT … VALUES`` (then ``tail``) of every row, values bound already, as
    statements of many rows each; returns the rows stored. ``executemany`` of a one-row
    statement resets, re-binds and steps it once per row, which costs SQLite's driver
    about as much as the insert itself: a batch's feed entries, an import's new contacts
    are written in a half to two thirds of the time this way. Every full statement has
    the same text, which the driver keeps prepared; the rows left over go by
    ``executemany`` of the one-row statement, so batches of every size add no statement
    of their own. Rows go in their order, so their ids do (``inserted_ids``)."""
    target, *quoted = _quoted(conn, [tbl.name, *names])
    head = f"INSERT INTO {target} ({', '.join(quoted)}) VALUES "
    one = f"({', '.join('?' * len(names))})"
    per = max(1, min(_ROWS_PER_INSERT, _parameter_limit(conn) // len(names)))
    whole = len(bound) - len(bound) % per
    stored = 0
    if whole:
        full = head + ", ".join([one] * per) + tail
        for start in range(0, whole, per):
            values = tuple(chain.from_iterable(bound[start : start + per]))
            stored += conn.exec_driver_sql(full, values).rowcount
    if whole < len(bound):
        stored += conn.exec_driver_sql(head + one + tail, list(bound[whole:])).rowcount
    return int(stored)


def inserted_ids(
    conn: Connection,
    tbl: sa.Table,
    names: Sequence[str],
    rows: Sequence[Row],
    *,
    conflict: Sequence[str] = (),
    conflict_where: str | None = None,
) -> range:
    """``insert_rows`` on SQLite, returning the ids the stored rows were given; with
    ``conflict`` (and a partial unique index's ``conflict_where``) a row that index
    refuses is skipped (``DO NOTHING``) and given none. SQLite's driver drops what an
    ``executemany`` returns, so ``RETURNING`` would mean SQLAlchemy's statement per
    thousand rows, each value a parameter of its own; the ids are known without it. A
    table whose ``INTEGER PRIMARY KEY`` has no ``AUTOINCREMENT`` gives a new row "one
    larger than the largest ROWID in the table prior to the insert"
    (sqlite.org/autoinc.html), and the statement holds the database's one write lock
    from its first row to the transaction's end, so no other writer's row comes between:
    the ids are the run that ends at ``last_insert_rowid()``. (Once the largest rowid is
    2**63 - 1 SQLite picks them at random instead: refused here, not guessed.)"""
    if conn.dialect.name != "sqlite":
        raise ValueError(f"inserted_ids writes SQLite; this store is {conn.dialect.name}")
    if not rows:
        return range(0)
    tail = ""
    if conflict:
        tail = f" ON CONFLICT ({', '.join(_quoted(conn, conflict))})"
        tail += f" WHERE {conflict_where}" if conflict_where else ""
        tail += " DO NOTHING"
    stored = _sqlite_insert(conn, tbl, names, rows, tail)
    if not stored:
        return range(0)
    last = int(conn.exec_driver_sql("SELECT last_insert_rowid()").scalar_one())
    key = _quoted(conn, [next(iter(tbl.primary_key)).name])[0]
    target = _quoted(conn, [tbl.name])[0]
    ids = range(last - stored + 1, last + 1)
    found = conn.exec_driver_sql(
        f"SELECT count(*) FROM {target} WHERE {key} BETWEEN ? AND ?", (ids.start, last)
    ).scalar_one()
    if found != stored:
        raise RuntimeError(
            f"{tbl.name}: {stored} rows stored but {found} ids in {ids.start}..{last}: "
            "SQLite gave the new rows ids out of order (its largest rowid reached)"
        )
    return ids


def upsert_rows(
    conn: Connection,
    tbl: sa.Table,
    names: Sequence[str],
    rows: Sequence[Row],
    conflict: Sequence[str],
    replace: Sequence[str],
) -> None:
    """``insert_rows`` where a row whose ``conflict`` columns match a stored one replaces
    that row's ``replace`` columns (``ON CONFLICT … DO UPDATE``). SQLite only: on
    PostgreSQL a batch of upserts is ``pg_rows.insert_rows``' (one ``unnest``
    statement). Two rows of one key in the batch: the later one is kept, as a statement
    per row would."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        raise ValueError(f"upsert_rows writes SQLite; this store is {conn.dialect.name}")
    keys, sets = _quoted(conn, conflict), _quoted(conn, replace)
    tail = f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET " + ", ".join(
        f"{c} = excluded.{c}" for c in sets
    )
    _sqlite_insert(conn, tbl, names, rows, tail)


def update_rows(
    conn: Connection, tbl: sa.Table, key: str, names: Sequence[str], rows: Sequence[Row]
) -> None:
    """``UPDATE tbl SET names… WHERE key = …`` for every row: tuples of the ``names``
    values followed by the key's. A key given twice keeps its last row, as a statement
    per row would."""
    if not rows:
        return
    target, column_key, *columns = _quoted(conn, [tbl.name, key, *names])
    if _is_postgres(conn):
        last = list({r[-1]: r for r in rows}.values())
        sets = ", ".join(f"{c} = v.{c}" for c in columns)
        arrays = _arrays(conn, tbl, [*names, key])
        # The keys once more, as ``= ANY``: so the server finds the rows by the key's
        # index. Joined to the arrays alone it hashes the whole table instead, which its
        # costs prefer until the table is many times the batch (73 → 9 ms for 2,000 of
        # 100,000 runs), a cost that grows with the table's history, not the batch.
        sql = (
            f"UPDATE {target} SET {sets} FROM unnest({arrays}) AS v({', '.join(columns)}, k_)"
            f" WHERE {target}.{column_key} = v.k_"
            f" AND {target}.{column_key} = ANY({_arrays(conn, tbl, [key])})"
        )
        # Lists: psycopg sends a list as an array (a tuple would be a record).
        values = tuple(list(c) for c in _columns(conn, tbl, [*names, key], last))
        conn.exec_driver_sql(sql, (*values, values[-1]))
        return
    if conn.dialect.name != "sqlite":  # pragma: no cover (other databases)
        conn.execute(
            sa.update(tbl).where(tbl.c[key] == sa.bindparam("k_")),
            [dict(zip([*names, "k_"], r, strict=True)) for r in rows],
        )
        return
    sets = ", ".join(f"{c} = ?" for c in columns)
    sql = f"UPDATE {target} SET {sets} WHERE {column_key} = ?"
    conn.exec_driver_sql(sql, _bound_rows(conn, tbl, [*names, key], rows))


def delete_rows(conn: Connection, tbl: sa.Table, keys: Sequence[str], rows: Sequence[Row]) -> None:
    """``DELETE FROM tbl WHERE (keys) = row`` for every row (tuples in ``keys`` order), one
    ``executemany`` on SQLite; elsewhere SQLAlchemy's statement per row (PostgreSQL's one
    statement is ``pg_rows.delete_rows``)."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        params = [f"k{i}_" for i in range(len(keys))]
        conn.execute(
            sa.delete(tbl).where(
                *(tbl.c[k] == sa.bindparam(p) for k, p in zip(keys, params, strict=True))
            ),
            [dict(zip(params, r, strict=True)) for r in rows],
        )
        return
    target, *quoted = _quoted(conn, [tbl.name, *keys])
    where = " AND ".join(f"{k} = ?" for k in quoted)
    conn.exec_driver_sql(f"DELETE FROM {target} WHERE {where}", _bound_rows(conn, tbl, keys, rows))
