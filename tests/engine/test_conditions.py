"""Conditions decide and explain: the values that decided are in the explanation."""

from __future__ import annotations

import pytest

from journey.dsl import parse_condition
from journey.dsl.syntax import (
    AllOf,
    AnyOf,
    FieldCondition,
    InList,
    InSegment,
    Not,
    RecordTypeCondition,
)
from journey.engine.conditions import Evaluator
from journey.engine.contact import ContactView


def contact(**fields: str) -> ContactView:
    return ContactView.from_fields(1, {k.replace("_", " "): v for k, v in fields.items()})


def test_empty_owner_explains_itself() -> None:
    verdict = Evaluator().evaluate(FieldCondition("Lead Owner", "is empty"), contact())
    assert verdict.value
    assert verdict.text() == "field \"Lead Owner\" = '' → is empty: yes"


@pytest.mark.parametrize("owner", ["Jane Doe", "jane@acme.example", "005000000000001AAA"])
def test_owner_matches_by_name_email_or_user_id(owner: str) -> None:
    view = contact()
    view.owner_name, view.owner_email, view.owner_id = (
        "Jane Doe",
        "jane@acme.example",
        "005000000000001AAA",
    )
    assert Evaluator().evaluate(FieldCondition("lead owner", "is", owner.upper()), view).value
    assert not Evaluator().evaluate(FieldCondition("Lead Owner", "is", "Sam"), view).value


@pytest.mark.parametrize(
    ("value", "op", "literal", "expected"),
    [
        ("250000", ">", "1000000", False),
        ("1,500,000", ">", "1000000", True),
        ("9", "<", "10", True),  # as numbers, not as text ("9" > "10")
        ("2026-03-01", ">=", "2026-02-28", True),
        ("2026-03-01", "<", "2026-02-28", False),
        ("not a number", ">", "5", False),
    ],
)
def test_numbers_and_dates_compare_as_such(
    value: str, op: str, literal: str, expected: bool
) -> None:
    condition = FieldCondition("Annual Revenue", op, literal)  # type: ignore[arg-type]
    assert Evaluator().evaluate(condition, contact(Annual_Revenue=value)).value is expected


def test_text_is_case_insensitive_and_names_too() -> None:
    view = contact(Lead_Status="Qualified", Plan_Tier="Pro Plus")
    ev = Evaluator()
    assert ev.evaluate(FieldCondition("lead status", "is", "QUALIFIED"), view).value
    assert ev.evaluate(FieldCondition("Plan Tier", "starts with", "pro"), view).value
    assert ev.evaluate(FieldCondition("Plan Tier", "contains", "PLUS"), view).value
    assert ev.evaluate(FieldCondition("Plan Tier", "is not", "Basic"), view).value


@pytest.mark.parametrize(
    ("value", "true"), [("true", True), ("Yes", True), ("1", True), ("false", False), ("", False)]
)
def test_true_false_fields(value: str, true: bool) -> None:
    view = contact(Do_Not_Call=value)
    assert Evaluator().evaluate(FieldCondition("Do Not Call", "is true"), view).value is true
    assert Evaluator().evaluate(FieldCondition("Do Not Call", "is false"), view).value is not true


def test_segments_lists_record_types_and_logic() -> None:
    segments = {"High intent": parse_condition('field "Rating" is "Hot" or field "Score" > 80')}
    ev = Evaluator(segments)
    view = ContactView.from_fields(1, {"Rating": "Warm", "Score": "95"}, ["Webinar"])
    verdict = ev.evaluate(InSegment("high INTENT"), view)
    assert verdict.value
    assert "field \"Score\" = '95' → > 80: yes" in verdict.text()
    assert not ev.evaluate(InSegment("Unknown"), view).value
    assert "not defined" in ev.evaluate(InSegment("Unknown"), view).text()
    both = AllOf((InList("webinar"), Not(RecordTypeCondition("lead"))))
    assert ev.evaluate(both, view).value
    view.salesforce_type = "Lead"
    assert not ev.evaluate(both, view).value
    either = AnyOf((InList("Other"), RecordTypeCondition("lead")))
    assert ev.evaluate(either, view).value
