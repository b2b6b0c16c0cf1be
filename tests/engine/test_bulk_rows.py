"""The runner's bulk writes on every supported database: what a batch writes in one
statement reads back exactly as the rows one statement each would have written."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from journey.engine.batch_writes import ACTIVITY_COLUMNS, INTENT_COLUMNS, RUN_COLUMNS
from journey.engine.bulk_rows import insert_rows, update_rows
from journey.engine.intake import submit_form
from journey.engine.pg_rows import delete_rows
from journey.engine.sql_batches import among
from journey.engine.store import (
    Activity,
    Contact,
    ContactList,
    Effect,
    FieldValue,
    Membership,
    Run,
    delete_many,
    enter_runs,
    entering_run,
    open_store,
    upsert_many,
)
from tests.engine.engine_helpers import T0, context

#: Text a feed entry may hold that a bulk path could mangle: COPY's own separators and
#: escapes, quotes, non-ASCII, an empty string (not NULL).
AWKWARD = ["tab\there", "line\nbreak\r\n", "back\\slash \\N", "'quote' \"double\"", "Zoë ☃", ""]


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_a_batch_of_feed_entries_reads_back_as_written(store_url: str, binary: bool) -> None:
    store = open_store(store_url)
    cid, _ = submit_form(store, context(), "Demo", "ann@x.example", {})
    rows = [
        (cid, None, "J", f"s{i}", "action", None if i % 2 else "done", text, '{"k": 1}', T0)
        for i, text in enumerate(AWKWARD * 50)
    ]
    activity = Activity
    with store.begin() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(activity)).scalar_one()
        insert_rows(conn, activity, ACTIVITY_COLUMNS, rows, binary=binary)
    with store.engine.connect() as conn:
        got = conn.execute(
            sa.select(*[activity.c[n] for n in ACTIVITY_COLUMNS])
            .order_by(activity.c.id)
            .offset(before)
        ).all()
    assert [tuple(r) for r in got] == rows
    store.close()


def test_runs_moved_in_one_statement_take_each_their_own_position(store_url: str) -> None:
    store = open_store(store_url)
    ids = [submit_form(store, context(), "Demo", f"c{i}@x.example", {})[0] for i in range(30)]
    runs = Run
    with store.begin() as conn:
        made = conn.execute(
            sa.insert(runs).returning(runs.c.id, runs.c.contact_id),
            [entering_run(c, "J", "j", "v1", "1", T0) for c in ids],
        ).all()
    later = T0 + timedelta(days=1)
    moves = [
        ("2", "waiting", later, False, 3, 0, None, None, rid)
        if i % 3
        else ("9", "goal", T0, False, 7, 2, "Bought", later, rid)
        for i, (rid, _) in enumerate(made)
    ]
    # A run given twice keeps its last position, as one statement per row would.
    moves.append(("5", "completed", later, False, 8, 0, None, later, made[1][0]))
    with store.begin() as conn:
        update_rows(conn, runs, "id", RUN_COLUMNS, moves)
    with store.engine.connect() as conn:
        stored = {
            r.id: (r.step_id, r.status, r.next_due, r.wake, r.seq, r.attempts, r.goal, r.ended_at)
            for r in conn.execute(sa.select(runs))
        }
    expected = {m[-1]: m[:-1] for m in moves}
    assert stored == expected
    store.close()


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_an_intent_written_twice_is_refused_as_the_database_refuses_it(
    store_url: str, binary: bool
) -> None:
    """The claims' fence tells a batch another worker took by this refusal: it must be
    SQLAlchemy's ``IntegrityError`` whichever way the rows were sent."""
    store = open_store(store_url)
    cid, _ = submit_form(store, context(), "Demo", "ann@x.example", {})
    intent = ("1:1", 1, cid, "v1", "3", "pending", "{}", None, T0)
    effects = Effect
    with store.begin() as conn:
        insert_rows(conn, effects, INTENT_COLUMNS, [intent])
    with pytest.raises(sa.exc.IntegrityError), store.begin() as conn:
        insert_rows(conn, effects, INTENT_COLUMNS, [("1:2", *intent[1:]), intent], binary=binary)
    with store.engine.connect() as conn:
        keys = conn.execute(sa.select(effects.c.key)).scalars().all()
    assert keys == ["1:1"]  # the refused batch left nothing behind
    store.close()


def test_a_batch_of_contacts_is_found_by_its_ids_on_every_database(store_url: str) -> None:
    """``among``: a few ids, none, and more ids than one ``IN_BATCH``, most matching
    nothing."""
    store = open_store(store_url)
    ids = [submit_form(store, context(), "Demo", f"c{i}@x.example", {})[0] for i in range(5)]
    contacts = Contact
    with store.engine.connect() as conn:

        def found(wanted: list[int]) -> list[int]:
            chosen = sa.select(contacts.c.id).where(among(conn, contacts.c.id, wanted))
            return sorted(conn.execute(chosen).scalars())

        assert found(ids[1:4]) == ids[1:4]
        assert found([]) == []
        assert found([*ids, *range(10_000, 10_900)]) == ids
    store.close()


def test_field_values_upserted_in_one_statement_keep_the_last_value(tmp_path: Path) -> None:
    # SQLite's set-based upsert (PostgreSQL's is pg_rows'): a stored value is replaced,
    # a new one inserted, and a key given twice in the batch keeps its later row.
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    cid, _ = submit_form(store, context(), "Demo", "ann@x.example", {"Title": "CTO"})
    fv = FieldValue

    def row(key: str, name: str, text: str) -> dict[str, object]:
        return {
            "contact_id": cid,
            "name_key": key,
            "name": name,
            "type": "Text",
            "text": text,
            "number": None,
            "date_value": None,
            "flag": None,
        }

    replaced = ("name", "type", "text", "number", "date_value", "flag")
    rows = [row("title", "Title", "CEO"), row("stage", "Stage", "a"), row("stage", "Stage", "b")]
    with store.begin() as conn:
        upsert_many(conn, fv, rows, ("contact_id", "name_key"), replaced)
    with store.engine.connect() as conn:
        got = dict(
            conn.execute(sa.select(fv.c.name_key, fv.c.text).where(fv.c.contact_id == cid)).all()
        )
    assert got == {"title": "CEO", "stage": "b"}
    store.close()


def test_entering_runs_return_those_stored_and_skip_a_second_live_one(store_url: str) -> None:
    # One statement on PostgreSQL (pg_rows.insert_returning), one executemany on SQLite
    # (bulk_rows.inserted_ids): the same answer — a contact already live in the journey
    # gets no second run, and no id, wherever it stands in the batch.
    store = open_store(store_url)
    ids = [submit_form(store, context(), "Demo", f"e{i}@x.example", {})[0] for i in range(4)]
    with store.begin() as conn:
        first = enter_runs(conn, [entering_run(ids[0], "J", "j", "v1", "1", T0)])
        first += enter_runs(conn, [entering_run(ids[2], "J", "j", "v1", "1", T0)])
        again = enter_runs(conn, [entering_run(c, "J", "j", "v1", "1", T0) for c in ids])
        live = conn.execute(
            sa.select(Run.c.id, Run.c.contact_id).where(Run.c.journey_key == "j")
        ).all()
        assert enter_runs(conn, [entering_run(ids[1], "J", "j", "v1", "1", T0)]) == []
    assert [c for _, c, _ in first] == [ids[0], ids[2]]
    assert sorted((c, k) for _, c, k in again) == [(ids[1], "j"), (ids[3], "j")]
    assert sorted(tuple(r) for r in live) == sorted(
        [(run_id, cid) for run_id, cid, _ in first + again]
    )
    store.close()


def test_memberships_deleted_in_one_statement_are_exactly_those_named(store_url: str) -> None:
    # PostgreSQL's one-statement delete (pg_rows), SQLite's one executemany (bulk_rows).
    store = open_store(store_url)
    ids = [submit_form(store, context(), "Demo", f"m{i}@x.example", {})[0] for i in range(3)]
    with store.begin() as conn:
        lists = [
            conn.execute(
                sa.insert(ContactList)
                .values(name=n, name_key=n.casefold())
                .returning(ContactList.c.id)
            ).scalar_one()
            for n in ("A", "B")
        ]
        rows = [(lid, cid) for lid in lists for cid in ids]
        conn.execute(
            sa.insert(Membership),
            [{"list_id": lid, "contact_id": cid, "added_at": T0} for lid, cid in rows],
        )
        gone = [(lists[0], ids[0]), (lists[1], ids[2])]
        if not delete_rows(conn, Membership, ("list_id", "contact_id"), gone):
            assert conn.dialect.name == "sqlite"
            delete_many(conn, Membership, ("list_id", "contact_id"), gone)
        kept = conn.execute(sa.select(Membership.c.list_id, Membership.c.contact_id)).all()
    assert sorted(tuple(r) for r in kept) == sorted(set(rows) - set(gone))
    store.close()
