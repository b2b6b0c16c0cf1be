"""The store on every supported database: schema, migrations, intake, a whole run."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from journey.engine.intake import import_rows, submit_form
from journey.engine.migrations import head
from journey.engine.status import contact_report
from journey.engine.store import Run, open_store
from tests.engine.engine_helpers import T0, LinkingJournal, context, make_runner

JOURNEY = """journey "Welcome"
trigger added to list "Newsletter"
goal "Bought" when field "Lead Status" is "Customer"
update field "Nurture Stage" to "Welcome"
wait 2 days
if field "Score" > 50:
    add to list "Salesforce Leads"
else:
    exit
"""


def test_schema_is_created_then_left_alone(store_url: str) -> None:
    store = open_store(store_url)
    assert store.revision() == head()
    submit_form(store, context(), "Demo", "ann@x.example", {})
    store.close()
    again = open_store(store_url)  # a second open migrates nothing and loses nothing
    assert again.revision() == head()
    names = set(sa.inspect(again.engine).get_table_names())
    assert {"contacts", "runs", "activity", "events", "effects", "journey_versions"} <= names
    assert contact_report(again, "ann@x.example") is not None
    again.close()


def test_database_refuses_two_live_runs(store_url: str) -> None:
    store = open_store(store_url)
    cid, _ = submit_form(store, context(), "Demo", "ann@x.example", {})
    row = {
        "contact_id": cid,
        "journey": "J",
        "journey_key": "j",
        "version": "v",
        "step_id": "1",
        "status": "waiting",
        "next_due": T0,
        "entered_at": T0,
    }
    with store.begin() as conn:
        conn.execute(sa.insert(Run), row)
    with pytest.raises(sa.exc.IntegrityError), store.begin() as conn:
        conn.execute(sa.insert(Run), {**row, "status": "active"})
    with store.begin() as conn:  # a finished run does not count
        conn.execute(sa.insert(Run), {**row, "status": "completed"})
    store.close()


def test_import_dedupes_on_email_and_types_values(store_url: str) -> None:
    store = open_store(store_url)
    rows = [
        (2, {"email": "Ann@X.example", "first name": "Ann", "Score": "70"}),
        (3, {"Email": "bob@x.example", "Score": "many"}),
        (4, {"EMAIL": "ann@x.example", "Last Name": "Lee", "Score": ""}),
    ]
    report = import_rows(store, rows, context(), "Newsletter")
    assert (report.created, report.unchanged) == (1, 1)
    assert [(e.row, e.message) for e in report.errors] == [
        (3, 'field "Score": "many" is not a number')
    ]
    contact = contact_report(store, "ANN@x.example")
    assert contact is not None
    assert contact.fields == {
        "Email": "ann@x.example",
        "First Name": "Ann",
        "Last Name": "Lee",
        "Score": "70",
    }
    assert contact.lists == ["Newsletter"]
    with store.engine.connect() as conn:
        number = conn.execute(sa.text("SELECT number FROM field_values")).scalar()
    assert number == 70.0
    store.close()


def test_a_whole_run_with_a_wait_and_an_effect(store_url: str) -> None:
    store = open_store(store_url)
    runner, _, connector = make_runner(store, JOURNEY, connector=LinkingJournal())
    rows = [
        (2, {"Email": "hot@x.example", "Score": "90"}),
        (3, {"Email": "cold@x.example", "Score": "10"}),
    ]
    import_rows(store, rows, context(), "Newsletter")
    first = runner.run_until_idle(T0)
    assert (first.entered, first.ended) == (2, 0)
    assert runner.run_until_idle(T0 + timedelta(days=1)).steps == 0  # still waiting
    later = runner.run_until_idle(T0 + timedelta(days=2))
    assert later.ended == 2
    hot, cold = contact_report(store, "hot@x.example"), contact_report(store, "cold@x.example")
    assert hot is not None
    assert cold is not None
    assert hot.salesforce["type"] == "Lead"
    assert "Salesforce Leads" in hot.lists
    assert [r["status"] for r in hot.runs] == ["completed"]
    assert [r["status"] for r in cold.runs] == ["exited"]
    assert cold.salesforce["id"] is None
    assert sorted(connector.applications().values()) == [1]
    store.close()
