"""A dry run taken a chunk of contacts at a time says what the whole file at once says,
a dry run that keeps no feed ends every contact where the full one does, the compiled
conditions decide as the explained ones, and the streamed JSON is the report's JSON."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journey.connectors.base import EffectRequest, EffectResult, RecordChange
from journey.connectors.recording import JournalingConnector
from journey.dsl import parse_condition
from journey.dsl.syntax import Action
from journey.engine.conditions import Evaluator
from journey.engine.contact import ContactView
from journey.engine.dryrun import dry_run
from journey.engine.dryrun_json import json_document, jsonl_lines
from tests.engine.engine_helpers import FIELDS, T0, compiled

JOURNEY = """journey "Chunks"
trigger added to list "In"
goal "Won" when field "Lead Status" is "Closed - Converted"
update field "Nurture Stage" to "started {{First Name}}"
if field "Score" > 50 and not in list "VIP":
    add to list "High"
else if field "Rating" contains "ho":
    remove from list "VIP"
else:
    update field "Plan Tier" to "low"
split 50% / 30% / 20%:
    path:
        send notification "Hi {{First Name}}" to "ops@acme.example"
    path:
        wait 2 days
    path:
        exit
wait until field "Rating" is "Hot" for at most 3 days
add task "Call {{Email}}" due in 2 days
update field "Nurture Stage" to "done"
"""

SCORES = st.one_of(st.none(), st.integers(0, 100).map(str), st.sampled_from(["n/a", "2026-01-01"]))
CONTACT = st.fixed_dictionaries(
    {
        "Score": SCORES,
        "Rating": st.sampled_from([None, "Hot", "hot", "Warm", "Shot"]),
        "Lead Status": st.sampled_from([None, "Open", "Closed - Converted"]),
        "First Name": st.sampled_from([None, "Ann", "Bo"]),
        "vip": st.booleans(),
    }
)


def views(rows: list[dict[str, Any]]) -> list[ContactView]:
    out = []
    for i, row in enumerate(rows, start=1):
        values = {k: v for k, v in row.items() if k != "vip" and v is not None}
        view = ContactView.from_fields(i, {"Email": f"p{i}@x.example", **values})
        if row["vip"]:
            view.lists["vip"] = "VIP"
        out.append(view)
    return out


class Recorder(JournalingConnector):
    """Answers every action ``done`` with a record, and writes down the batches it got:
    chunks must not change which contacts are asked together beyond their boundaries."""

    def __init__(self) -> None:
        super().__init__(keep_log=False)
        self.batches: list[list[int]] = []

    def perform(self, action: Action, requests: list[EffectRequest]) -> list[EffectResult]:
        self.batches.append([r.contact.id for r in requests])
        return [
            EffectResult(
                r.key,
                "done",
                records=(RecordChange("Task", f"00T{r.contact.id}", "create", {"Subject": "x"}),),
            )
            for r in requests
        ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(CONTACT, min_size=1, max_size=25), chunk=st.integers(1, 8))
def test_a_chunked_dry_run_says_what_the_unchunked_one_says(
    rows: list[dict[str, Any]], chunk: int
) -> None:
    journey = compiled(JOURNEY)
    whole = dry_run(journey, views(rows), T0, Evaluator(None, FIELDS), Recorder(), chunk=10**6)
    connector = Recorder()
    parts = dry_run(journey, views(rows), T0, Evaluator(None, FIELDS), connector, chunk=chunk)
    assert parts.as_dict() == whole.as_dict()
    assert all(len(batch) <= chunk for batch in connector.batches)
    lean = dry_run(
        journey,
        views(rows),
        T0,
        Evaluator(None, FIELDS),
        Recorder(),
        keep_records=False,
        chunk=chunk,
    )
    ends = [(c.status, c.goal, c.steps, c.ended_at) for c in lean.contacts]
    assert ends == [(c.status, c.goal, c.steps, c.ended_at) for c in whole.contacts]


CONDITIONS = st.sampled_from(
    [
        'field "Score" > 50',
        'field "Score" <= 50',
        'field "Score" >= 2026-01-01',
        'field "Rating" is "hot"',
        'field "Rating" is not "Hot"',
        'field "Rating" contains "ot"',
        'field "Rating" starts with "w"',
        'field "Rating" is empty',
        'field "Rating" is not empty',
        'field "Email" contains "x.example"',
        'field "Lead Owner" is "ann@acme.example"',
        'field "Lead Owner" is empty',
        'field "Do Not Call" is true',
        'field "Do Not Call" is false',
        'in list "VIP" or not field "Score" < 10',
        'is salesforce lead and field "Rating" is "Warm"',
    ]
)


@settings(max_examples=200, deadline=None)
@given(text=CONDITIONS, row=CONTACT, owner=st.sampled_from(["", "ann@acme.example", "Ann"]))
def test_compiled_conditions_decide_as_the_explained_ones(
    text: str, row: dict[str, Any], owner: str
) -> None:
    [view] = views([row])
    view.set_owner(owner)
    view.set("Do Not Call", row["Rating"])
    evaluator = Evaluator(None, FIELDS)
    condition = parse_condition(text)
    assert evaluator.decide(condition, view) == evaluator.evaluate(condition, view).value


def test_the_streamed_json_is_the_reports_json() -> None:
    journey = compiled(JOURNEY)
    rows = [
        {"Score": "70", "Rating": "Hot", "Lead Status": None, "First Name": "Ann", "vip": False},
        {"Score": None, "Rating": "Shot", "Lead Status": None, "First Name": "Bo", "vip": True},
        {"Score": "1", "Rating": None, "Lead Status": "Closed - Converted", "First Name": None}
        | {"vip": False},
    ]
    report = dry_run(journey, views(rows * 4), T0, Evaluator(None, FIELDS), Recorder())
    errors = [{"file": "c.csv", "line": 3, "message": "no Email"}]
    expected = json.dumps(
        {**report.as_dict(), "errors": errors}, indent=2, sort_keys=True, default=str
    )
    head = {k: v for k, v in report.as_dict().items() if k != "contacts"}
    assert "".join(json_document(head, report.contacts, lambda: errors)) == expected
    empty = json.dumps({**head, "contacts": [], "errors": []}, indent=2, sort_keys=True)
    assert "".join(json_document(head, [], list)) == empty
    lines = [json.loads(line) for line in jsonl_lines(head, report.contacts, lambda: errors)]
    assert lines[:-1] == report.as_dict()["contacts"]
    statuses = {c.status for c in report.contacts}
    assert lines[-1]["contacts"] == 12
    assert set(lines[-1]["statuses"]) == statuses
    assert lines[-1]["errors"] == errors
    assert lines[-1]["journey"] == "Chunks"


def test_a_wait_keeps_its_virtual_clock_across_chunks() -> None:
    journey = compiled(JOURNEY)
    rows = [{"Score": None, "Rating": "Warm", "Lead Status": None, "First Name": None}] * 3
    report = dry_run(
        journey, views([r | {"vip": False} for r in rows]), T0, Evaluator(None, FIELDS), chunk=1
    )
    ends = {c.ended_at for c in report.contacts if c.status == "completed"}
    assert ends
    assert all(e is not None and e - T0 >= timedelta(days=3) for e in ends)
