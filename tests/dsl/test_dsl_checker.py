"""The checker: every meaning problem, with its place, severity and hint."""

from __future__ import annotations

from journey.dsl import Diagnostic, Schema, compile_source

HEAD = 'journey "J"\ntrigger added to list "A"\n'
PROJECT = Schema(
    fields={"Email": "Text", "Score": "Number", "Signed Up": "Date", "Vip": "True/False"},
    groups=frozenset({"SDRs"}),
    segments=frozenset({"Hot"}),
    users=frozenset({"ann@acme.example"}),
    campaigns=frozenset({"Q4"}),
)


def problems(body: str, schema: Schema | None = PROJECT) -> list[Diagnostic]:
    return compile_source(HEAD + body, "j.journey", schema)[1]


def brief(diagnostics: list[Diagnostic]) -> list[tuple[int, int, str]]:
    return [(d.line, d.column, d.severity) for d in diagnostics]


def test_every_problem_is_reported_not_just_the_first() -> None:
    found = problems(
        "split 50% / 40%:\n    path:\n        exit\n    path:\n        exit\n"
        "go to nowhere\n"
        'update field "Nope" to "x"\n'
    )
    messages = " | ".join(d.message for d in found)
    assert "90%" in messages
    assert "nowhere" in messages
    assert '"Nope"' in messages


def test_split_paths_must_match_shares() -> None:
    (problem,) = problems("split 50% / 50%:\n    path:\n        exit\n")
    assert "2 shares but 1 `path:`" in problem.message


def test_unknown_names_are_errors_where_declared_with_a_suggestion() -> None:
    found = problems(
        'assign lead to group "SDR"\nif in segment "hot":\n    exit\n'
        'set member status "Sent" in campaign "Q5"\nadd task "Call {{Emial}}"\n'
    )
    assert [(d.severity, d.message, d.hint) for d in found] == [
        ("error", 'unknown group "SDR"', "did you mean `SDRs`?"),
        ("error", 'unknown campaign "Q5"', "known campaigns: Q4"),
        ("error", 'unknown field "Emial"', "did you mean `Email`?"),
    ]


def test_names_match_case_insensitively() -> None:
    assert problems('if field "email" is "x" and in segment "HOT":\n    exit\n') == []


def test_unknown_names_are_warnings_outside_a_project() -> None:
    outside = Schema(standard_fields={"Email": "Text"})
    found = problems(
        'update field "Plan Tier" to "Pro"\nassign lead to group "SDRs"\n'
        'assign lead to group "SDRs"\n',
        outside,
    )
    assert brief(found) == [(3, 1, "warning"), (4, 1, "warning")]
    compiled, _ = compile_source(HEAD + 'update field "Plan Tier" to "Pro"\n', "j", outside)
    assert compiled is not None


def test_type_checks() -> None:
    found = problems(
        'if field "Email" > 3 or field "Score" is true or field "Vip" is "yes" '
        'or field "Signed Up" > 12 or field "Score" contains "1":\n    exit\n'
    )
    assert [d.message for d in found] == [
        '`>` compares numbers and dates, but "Email" is Text',
        '`is true` needs a True/False field, but "Score" is Number',
        '"Vip" is a True/False field',
        '"Signed Up" is a Date; write it as YYYY-MM-DD',
        '`contains` works on text, but "Score" is Number',
    ]


def test_well_typed_conditions_pass() -> None:
    assert (
        problems(
            'if field "Score" >= 10 and field "Signed Up" < 2025-01-01 and field "Vip" is false:\n'
            "    exit\n"
        )
        == []
    )


def test_duplicate_labels_and_reserved_end() -> None:
    found = problems("step a\nwait 1 day\nstep a\nwait 2 days\nstep end\nexit\n")
    assert [d.message for d in found] == [
        "step `a` is defined twice (first on line 3)",
        "`end` is reserved for the end of the journey",
    ]


def test_label_with_nothing_after_it() -> None:
    (problem,) = problems('if in segment "Hot":\n    step lonely\nexit\n')
    assert "nothing follows it" in problem.message


def test_goto_suggests_a_near_label() -> None:
    found = problems("step weekly\nwait 1 week\ngo to weeky\n")
    assert found[0].hint == "did you mean `weekly`?"
    assert (found[0].line, found[0].column) == (5, 7)


def test_loop_through_a_condition_without_wait_is_an_error() -> None:
    found = problems('step top\nif in segment "Hot":\n    go to top\nwait 1 day\n')
    assert brief(found) == [(5, 5, "error")]
    assert "no wait" in found[0].message


def test_loop_with_a_wait_is_fine() -> None:
    assert problems('step top\nwait until in segment "Hot" for at most 1 day\ngo to top\n') == []


def test_unreachable_steps_are_a_warning_once_per_run() -> None:
    found = problems("exit\nwait 1 day\nwait 2 days\n")
    assert brief(found) == [(4, 1, "warning")]


def test_missing_journey_line_and_duplicates() -> None:
    found = compile_source('trigger added to list "A"\nentry once\nentry always\n')[1]
    assert [d.message for d in found] == [
        'a journey file starts with `journey "NAME"`',
        "`entry` is given twice",
    ]


def test_a_label_on_its_own_go_to_is_a_loop_without_wait() -> None:
    (problem,) = problems("step spin\ngo to spin\n")
    assert (problem.line, problem.column, problem.severity) == (4, 1, "error")
    assert "no wait" in problem.message
