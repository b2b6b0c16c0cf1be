"""Planner statistics kept up with the tables the engine grows fast (PostgreSQL).

Pipeline position: beside the store, called by the writers that add rows in bulk (the
runner entering runs, an import's new contacts) once their transaction has committed.

PostgreSQL plans every statement from what ``ANALYZE`` last saw of each table, and
autovacuum analyzes a table only once a tenth of it has changed, at its next round (a
minute apart by default: ``autovacuum_analyze_scale_factor``, ``autovacuum_naptime``,
https://www.postgresql.org/docs/15/routine-vacuuming.html#AUTOVACUUM). Until then a table
that has grown from nothing to 100,000 rows is planned as if it still held nothing: the
claim's index scan in ``next_due`` order, which stops at a batch, becomes a read of every
due run and a sort to disk, once per batch. PostgreSQL's advice after a bulk load is to
run ``ANALYZE`` (https://www.postgresql.org/docs/15/populate.html#POPULATE-ANALYZE). So a
writer tells ``TableStatistics.grown`` how many rows it added; once a table has grown by
half of what its statistics counted, it is analyzed — a sample of it, milliseconds — in
a transaction of its own with a short lock timeout: an ``ANALYZE`` already running
(autovacuum's, another worker's) means fresh statistics are on their way, and this one
gives way. SQLite plans without such statistics: nothing is done there.
"""

from __future__ import annotations

import sqlalchemy as sa

from journey.engine.store import Store

__all__ = ["TableStatistics"]

#: Rows added to a table before its statistics are looked at (a batch's worth).
_LOOK_AFTER = 1000
#: How much larger than its statistics say a table may grow before it is analyzed.
_GROWTH = 0.5


class TableStatistics:
    """The rows this process added to each table since it last analyzed it."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._added: dict[str, int] = {}
        self._looked: dict[str, int] = {}
        #: Tables analyzed, for the tests and ``bench/engine.py``.
        self.analyzed = 0

    def grown(self, table: sa.Table, rows: int) -> None:
        """``rows`` were added to ``table`` and committed (module docstring)."""
        if self.store.is_sqlite or rows <= 0:
            return
        name = table.name
        added = self._added[name] = self._added.get(name, 0) + rows
        if added - self._looked.get(name, 0) < _LOOK_AFTER:
            return
        self._looked[name] = added
        quoted = self.store.engine.dialect.identifier_preparer.quote(name)
        with self.store.engine.connect() as conn:
            counted = conn.exec_driver_sql(
                "SELECT reltuples FROM pg_class WHERE oid = to_regclass(%(table)s)",
                {"table": quoted},
            ).scalar()
            # -1: never analyzed (PostgreSQL 14 and later; 0 before).
            if counted is not None and counted > 0 and added < counted * _GROWTH:
                conn.commit()
                return
            try:
                conn.exec_driver_sql("SET LOCAL lock_timeout = '100ms'")
                conn.exec_driver_sql(f"ANALYZE {quoted}")
                conn.commit()
            except sa.exc.OperationalError:  # another ANALYZE holds the table: it will do
                conn.rollback()
                return
        self._added[name] = self._looked[name] = 0
        self.analyzed += 1
