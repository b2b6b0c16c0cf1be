"""Planner statistics after a pass grows ``runs`` (``engine.table_statistics``): on
PostgreSQL the runner analyzes the table it filled, so the next claims are planned for the
runs it holds, not for the empty table autovacuum last saw."""

from __future__ import annotations

from pathlib import Path

import pytest

from journey.connectors.recording import JournalingConnector
from journey.engine.conditions import Evaluator
from journey.engine.intake import import_rows
from journey.engine.journeys import Catalog
from journey.engine.runner import Runner
from journey.engine.store import open_store
from tests.engine.engine_helpers import FIELDS, T0, compiled, context

JOURNEY = """journey "Grown"
trigger added to list "Many"
update field "Nurture Stage" to "One"
wait 1 day
update field "Nurture Stage" to "Two"
"""
CONTACTS = 1500


def _runner(url: str) -> Runner:
    store = open_store(url)
    catalog = Catalog(store=store)
    catalog.add(compiled(JOURNEY), JOURNEY, "grown.journey")
    catalog.publish(T0)
    rows = [(n + 2, {"Email": f"c{n}@x.example"}) for n in range(CONTACTS)]
    import_rows(store, rows, context(), "Many")
    return Runner(store, catalog, JournalingConnector(), Evaluator(None, FIELDS), FIELDS)


@pytest.mark.postgres
def test_a_pass_that_fills_runs_leaves_it_analyzed(postgres_url: str) -> None:
    runner = _runner(postgres_url)
    with runner.store.begin() as conn:  # only the runner's ANALYZE may count the runs
        conn.exec_driver_sql("ALTER TABLE runs SET (autovacuum_enabled = false)")
    report = runner.run_once(T0)
    assert report.entered == CONTACTS
    assert runner.statistics.analyzed == 1
    with runner.store.engine.connect() as conn:
        counted = conn.exec_driver_sql(
            "SELECT reltuples FROM pg_class WHERE relname = 'runs'"
        ).scalar_one()
    assert counted == CONTACTS
    runner.store.close()


def test_sqlite_is_left_to_plan_without_statistics(tmp_path: Path) -> None:
    runner = _runner(f"sqlite:///{tmp_path / 'state.db'}")
    assert runner.run_once(T0).entered == CONTACTS
    assert runner.statistics.analyzed == 0
    with runner.store.engine.connect() as conn:
        assert (
            conn.exec_driver_sql(
                "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'"
            ).scalar_one()
            == 0
        )
    runner.store.close()


@pytest.mark.postgres
def test_a_first_import_leaves_its_tables_analyzed(postgres_url: str) -> None:
    store = open_store(postgres_url)
    with store.begin() as conn:  # only the import's ANALYZE may count the rows
        for table in ("contacts", "field_values", "memberships", "events"):
            conn.exec_driver_sql(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
    rows = [(n + 2, {"Email": f"c{n}@x.example", "Score": str(n)}) for n in range(CONTACTS)]
    import_rows(store, rows, context(), "Many")
    with store.engine.connect() as conn:
        counted = dict(
            conn.exec_driver_sql(
                "SELECT relname, reltuples FROM pg_class WHERE relname IN"
                " ('contacts', 'field_values', 'memberships')"
            ).all()
        )
    assert counted == {"contacts": CONTACTS, "field_values": CONTACTS, "memberships": CONTACTS}
    store.close()
