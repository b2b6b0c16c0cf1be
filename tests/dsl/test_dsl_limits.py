"""The language's limits as a user meets them: ``journey check`` on a file nested too deep
or with too many steps prints one diagnostic at its place (the depth or count, and the
limit) and exits 1, never a traceback; whatever the nesting, the pipeline answers with
diagnostics; and a journey just under the step limit runs to its end."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

import journey.cli.language  # noqa: F401  (registers check)
from journey.cli.app import app
from journey.dsl import JourneyError, compile_source, format_source, parse_condition
from journey.dsl.compiled import CompiledJourney
from journey.dsl.limits import MAX_DEPTH, MAX_STEPS
from journey.engine.conditions import Evaluator
from journey.engine.contact import ContactView
from journey.engine.executor import Advance, Position, advance
from tests.engine.engine_helpers import FIELDS, T0

HEADER = 'journey "J"\ntrigger form submitted "F"\n'


def nested_ifs(depth: int, inner: str = "exit") -> str:
    lines = [f'{"    " * level}if field "Plan Tier" is empty:' for level in range(depth)]
    return HEADER + "\n".join([*lines, "    " * depth + inner]) + "\n"


def walk_once(journey: CompiledJourney) -> Advance:
    """One pass of one run through ``journey``, as the runner makes it."""
    view = ContactView(id=1, email="ann@acme.example")
    return advance(journey, Position(1, journey.start), view, T0, Evaluator(None, FIELDS))


def check(tmp_path: Path, text: str) -> tuple[int, list[dict[str, object]]]:
    path = tmp_path / "deep.journey"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["check", "--json", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    diagnostics: list[dict[str, object]] = json.loads(result.stdout)
    return result.exit_code, diagnostics


def test_four_hundred_nested_ifs_are_one_diagnostic(tmp_path: Path) -> None:
    code, diagnostics = check(tmp_path, nested_ifs(400))
    assert code == 1
    [problem] = diagnostics
    # The 51st block starts on the line after the 51st `if`, indented 51 levels.
    assert (problem["line"], problem["column"]) == (2 + MAX_DEPTH + 2, 4 * (MAX_DEPTH + 1) + 1)
    assert problem["message"] == f"blocks nested {MAX_DEPTH + 1} deep: the limit is {MAX_DEPTH}"


def test_a_thousand_nested_parentheses_are_one_diagnostic(tmp_path: Path) -> None:
    condition = "(" * 1000 + 'field "Plan Tier" is empty' + ")" * 1000
    code, diagnostics = check(tmp_path, HEADER + f"if {condition}:\n    exit\n")
    assert code == 1
    [problem] = diagnostics
    assert (problem["line"], problem["column"]) == (3, 4 + MAX_DEPTH)  # the 51st `(`
    assert "a condition nested 51 deep (parentheses and `not`)" in str(problem["message"])
    assert f"the limit is {MAX_DEPTH}" in str(problem["message"])


def test_a_chain_of_nots_counts_as_nesting(tmp_path: Path) -> None:
    code, diagnostics = check(
        tmp_path, HEADER + "if " + "not " * 60 + 'field "Plan Tier" is empty:\n    exit\n'
    )
    assert code == 1
    [problem] = diagnostics
    assert problem["column"] == 4 + 4 * MAX_DEPTH  # the 51st `not`


def test_too_many_steps_is_one_diagnostic_at_the_step_that_reaches_the_limit(
    tmp_path: Path,
) -> None:
    steps = 'update field "Plan Tier" to "Pro"\n' * (MAX_STEPS + 5)
    code, diagnostics = check(tmp_path, HEADER + steps)
    assert code == 1
    [problem] = diagnostics
    assert problem["line"] == 2 + MAX_STEPS
    assert problem["message"] == (
        f"too many steps: this journey has {MAX_STEPS + 5:,}, and a journey has fewer than "
        f"{MAX_STEPS:,} (the most a run takes in one pass)"
    )


def test_the_deepest_allowed_nesting_checks_formats_and_runs() -> None:
    condition = "not " * (MAX_DEPTH // 2) + "(" * (MAX_DEPTH // 2)
    condition += 'field "Plan Tier" is empty' + ")" * (MAX_DEPTH // 2)
    text = nested_ifs(
        MAX_DEPTH, f"wait until {condition} for at most 3 days\n{'    ' * MAX_DEPTH}exit"
    )
    journey, diagnostics = compile_source(text, "deep.journey")
    assert journey is not None, diagnostics
    formatted = format_source(text)
    assert format_source(formatted) == formatted
    out = walk_once(journey)
    assert out.position.status.value == "waiting", out.records[-1]


def test_a_journey_just_under_the_step_limit_runs_to_its_end() -> None:
    text = HEADER + 'update field "Plan Tier" to "Pro"\n' * (MAX_STEPS - 1)
    journey, diagnostics = compile_source(text, "long.journey")
    assert journey is not None, diagnostics
    out = walk_once(journey)
    assert out.position.status.value == "completed"
    assert out.steps == MAX_STEPS - 1


def test_a_segment_nested_too_deep_is_a_diagnostic_naming_it() -> None:
    try:
        parse_condition("(" * 500 + 'field "Plan Tier" is empty' + ")" * 500, "segment Hot")
    except JourneyError as exc:
        [problem] = exc.diagnostics
        assert problem.path == "segment Hot"
        assert "nested 51 deep" in problem.message
    else:  # pragma: no cover - the assertion explains
        raise AssertionError("a condition 500 deep parsed")


_openers = st.sampled_from(["if", "else", "not", "("])


@given(st.lists(_openers, max_size=300), st.integers(min_value=0, max_value=300))
def test_arbitrary_nesting_is_answered_with_diagnostics(openers: list[str], closing: int) -> None:
    """Blocks, parentheses and `not`s in any mix and depth, balanced or not: the pipeline
    returns a journey or diagnostics, and raises nothing else."""
    lines: list[str] = []
    condition, level = "", 0
    for opener in openers:
        if opener in ("if", "else"):
            keyword = "if" if opener == "if" or not lines else "else if"
            lines.append(
                f'{"    " * level}{keyword} {condition}field "Plan Tier" is empty'
                + ")" * min(closing, condition.count("("))
                + ":"
            )
            condition, level = "", level + 1
        else:
            condition += "not " if opener == "not" else "("
    lines.append("    " * level + f'wait until {condition}field "A" is empty for at most 1 day')
    text = HEADER + "\n".join(lines) + "\n"
    journey, diagnostics = compile_source(text, "fuzz.journey", None)
    assert journey is not None or any(d.severity == "error" for d in diagnostics)
    for d in diagnostics:
        assert d.path == "fuzz.journey"
        assert min(d.line, d.column) >= 1
    formatted: str | JourneyError
    try:
        formatted = format_source(text)
    except JourneyError as exc:
        formatted = exc
    if isinstance(formatted, JourneyError):
        assert formatted.diagnostics
