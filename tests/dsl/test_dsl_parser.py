"""The parser: what the language accepts and the syntax tree it builds."""

from __future__ import annotations

import pytest

from journey.dsl import JourneyError, parse, parse_condition
from journey.dsl.syntax import (
    AddTask,
    AllOf,
    AnyOf,
    AssignLeadToGroup,
    CreateOpportunity,
    EntryRule,
    FieldCondition,
    GoTo,
    If,
    InSegment,
    Label,
    Not,
    RecordTypeCondition,
    Span,
    Split,
    UpdateField,
    Wait,
    WaitUntil,
)

HEAD = 'journey "J"\ntrigger added to list "A"\n'


def steps(body: str) -> tuple[object, ...]:
    return parse(HEAD + body).steps


def test_keywords_are_case_insensitive() -> None:
    journey = parse('JOURNEY "J"\nTrigger ADDED to List "A"\nENTRY Always\nWAIT 2 Days\n')
    assert journey.entry == EntryRule("always")
    assert journey.steps == (Wait(2, "days"),)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("wait 1 week", Wait(1, "weeks")),
        ("wait 1 minute", Wait(1, "minutes")),
        ("wait 3 hour", Wait(3, "hours")),
        ("wait 10 days", Wait(10, "days")),
    ],
)
def test_singular_units_normalise_to_plural(written: str, expected: Wait) -> None:
    assert steps(written + "\n") == (expected,)


def test_string_escapes() -> None:
    (step,) = steps('update field "Title" to "say \\"hi\\" \\\\ bye"\n')
    assert step == UpdateField("Title", 'say "hi" \\ bye')


def test_options_in_any_order_mean_the_same() -> None:
    a = steps('add task "T" priority "High" due in 2 days assigned to lead owner\n')
    b = steps('add task "T" due in 2 days assigned to lead owner priority "High"\n')
    assert a == b == (AddTask("T", 2, None, True, "High"),)


def test_option_given_twice_is_an_error_at_the_second() -> None:
    with pytest.raises(JourneyError) as caught:
        parse(HEAD + 'assign lead to group "G" lead status "A" lead status "B"\n')
    problem = caught.value.diagnostics[0]
    assert (problem.line, problem.column) == (3, 42)
    assert "twice" in problem.message


def test_assign_to_group_and_opportunity_options() -> None:
    assert steps('assign lead to group "G" keep current assignment lead source "Web"\n') == (
        AssignLeadToGroup("G", True, "Web", None),
    )
    assert steps('create opportunity "O" amount 1200.50 close in 1 day\n') == (
        CreateOpportunity("O", None, "1200.50", 1),
    )


def test_and_binds_tighter_than_or_and_not_tightest() -> None:
    condition = parse_condition('not in segment "A" or in segment "B" and is salesforce lead')
    assert condition == AnyOf(
        (
            Not(InSegment("A")),
            AllOf((InSegment("B"), RecordTypeCondition("lead"))),
        )
    )


def test_parentheses_group() -> None:
    condition = parse_condition('(in segment "A" or in segment "B") and in segment "C"')
    assert condition == AllOf((AnyOf((InSegment("A"), InSegment("B"))), InSegment("C")))


@pytest.mark.parametrize(
    ("text", "op", "value"),
    [
        ('field "F" is "x"', "is", "x"),
        ('field "F" is not "x"', "is not", "x"),
        ('field "F" is empty', "is empty", None),
        ('field "F" is not empty', "is not empty", None),
        ('field "F" contains "x"', "contains", "x"),
        ('field "F" starts with "x"', "starts with", "x"),
        ('field "F" > 10', ">", "10"),
        ('field "F" >= -2.5', ">=", "-2.5"),
        ('field "F" < 2024-01-31', "<", "2024-01-31"),
        ('field "F" <= 0', "<=", "0"),
        ('field "F" is true', "is true", None),
        ('field "F" is false', "is false", None),
    ],
)
def test_field_condition_forms(text: str, op: str, value: str | None) -> None:
    assert parse_condition(text) == FieldCondition("F", op, value)  # type: ignore[arg-type]


def test_if_else_if_else_and_split_blocks() -> None:
    (branching, split) = steps(
        'if in segment "A":\n    exit\nelse if in segment "B":\n    wait 1 day\nelse:\n'
        "    wait 2 days\nsplit 50% / 50%:\n    path:\n        exit\n    path:\n"
        "        wait 1 hour\n"
    )
    assert isinstance(branching, If)
    assert len(branching.branches) == 2
    assert branching.otherwise == (Wait(2, "days"),)
    assert isinstance(split, Split)
    assert split.shares == (50, 50)
    assert split.paths[1] == (Wait(1, "hours"),)


def test_labels_goto_and_wait_until() -> None:
    assert steps('step again\nwait until in segment "A" for at most 2 weeks\ngo to again\n') == (
        Label("again"),
        WaitUntil(InSegment("A"), 2, "weeks"),
        GoTo("again"),
    )


def test_spans_point_at_the_source() -> None:
    (statement,) = steps('if field "Rating" is "Hot":\n    exit\n')
    assert isinstance(statement, If)
    assert statement.span.line == 3
    assert statement.branches[0].condition.span == Span(3, 4, 3, 27)
    assert statement.branches[0].body[0].span == Span(4, 5, 4, 9)


def test_comments_are_kept_with_their_place() -> None:
    journey = parse('# top\njourney "J"  # name\ntrigger added to list "A"\n')
    assert [(c.text, c.span.line, c.span.column) for c in journey.comments] == [
        ("# top", 1, 1),
        ("# name", 2, 14),
    ]


def test_hash_inside_a_string_is_not_a_comment() -> None:
    journey = parse('journey "No #1"\ntrigger added to list "A"\n')
    assert journey.name == "No #1"
    assert journey.comments == ()


def test_windows_line_endings_and_bom() -> None:
    journey = parse('\ufeffjourney "J"\r\ntrigger added to list "A"\r\nexit\r\n')
    assert journey.name == "J"


def test_parse_condition_errors_name_the_origin() -> None:
    with pytest.raises(JourneyError) as caught:
        parse_condition('field "Rating" iz "Hot"', origin="journey.toml [segments] Hot")
    problem = caught.value.diagnostics[0]
    assert problem.path == "journey.toml [segments] Hot"
    assert problem.column == 16


def test_header_out_of_order_is_a_parse_error() -> None:
    with pytest.raises(JourneyError) as caught:
        parse('journey "J"\nexit\ntrigger added to list "A"\n')
    assert "before the steps" in caught.value.diagnostics[0].message


def test_every_independent_syntax_error_is_reported() -> None:
    with pytest.raises(JourneyError) as caught:
        parse(
            HEAD + "wait 2 dayz\n"
            'if in segment "A":\n    asign lead to "x"\n    exit\n'
            'update feld "F" to "V"\n'
        )
    assert [(d.line, d.column) for d in caught.value.diagnostics] == [(3, 8), (5, 5), (7, 8)]
    assert caught.value.diagnostics[1].hint == "did you mean `assign lead to`?"


def test_a_broken_block_opener_stops_at_its_own_error() -> None:
    with pytest.raises(JourneyError) as caught:
        parse(HEAD + 'if in segment "A"\n    exit\n')
    assert len(caught.value.diagnostics) == 1
    assert caught.value.diagnostics[0].message == "the line ends too soon; expected `:`"
