"""Every diagnostic has a stable code documented in docs/diagnostics.md, and a range an
editor can underline: the code base's codes and the documented ones are the same set, and
the diagnostics of real broken journeys carry codes and ends that cover their words."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from journey.cli.main import app
from journey.dsl import Schema, compile_source
from journey.dsl.diagnostics import Diagnostic, help_url
from tests.dsl.dsl_spec import invalid_files, needs_spec

REPO = Path(__file__).resolve().parents[2]
DOC = (REPO / "docs" / "diagnostics.md").read_text(encoding="utf-8")
CODE = re.compile(r"\bJ\d{3}\b")
HEAD = 'journey "J"\ntrigger added to list "A"\n'


def _codes_in_source() -> set[str]:
    found: set[str] = set()
    for path in (REPO / "journey").rglob("*.py"):
        found |= set(re.findall(r'"(J\d{3})"', path.read_text(encoding="utf-8")))
    return found


def test_every_code_in_the_code_base_is_documented_and_every_documented_code_is_used() -> None:
    documented = set(re.findall(r"^### (J\d{3})$", DOC, flags=re.MULTILINE))
    used = _codes_in_source()
    assert used - documented == set(), "codes used but not in docs/diagnostics.md"
    assert documented - used == set(), "codes documented but never used"


def test_the_documented_codes_are_in_order_and_each_once() -> None:
    documented = re.findall(r"^### (J\d{3})$", DOC, flags=re.MULTILINE)
    assert documented == sorted(set(documented))


@pytest.mark.parametrize(
    ("body", "code", "underlined"),
    [
        ('asign lead to group "SDRs"\n', "J102", "asign lead to group"),
        ("wait 2 dayz\n", "J101", "dayz"),
        ("go to nowhere\n", "J210", "nowhere"),
        ('if field "Score" > 3:\n    exit\n', "J201", 'field "Score" > 3'),
        (
            "split 50% / 40%:\n    path:\n        exit\n    path:\n        exit\n",
            "J321",
            "split 50% / 40%:",
        ),
        (
            'add to list "B"  # done\nstep a\nwait 1 day\ngo to a\nadd to list "C"\n',
            "J502",
            'add to list "C"',
        ),
    ],
)
def test_a_diagnostic_carries_its_code_and_covers_the_offending_words(
    body: str, code: str, underlined: str
) -> None:
    schema = Schema(fields={"Email": "Text"})
    _, found = compile_source(HEAD + body, "j.journey", schema)
    problem = next(d for d in found if d.code == code)
    assert problem.end_line == problem.line
    assert problem.source_line is not None
    assert problem.source_line[problem.column - 1 : problem.end_column - 1] == underlined
    shown = problem.format()
    assert f"[{code}]" in shown.splitlines()[0]
    assert shown.splitlines()[2].strip() == "^" * len(underlined)


def test_json_carries_the_code_and_the_end() -> None:
    _, found = compile_source(HEAD + "go to nowhere\n", "j.journey")
    (problem,) = found
    shape = problem.as_dict()
    assert (shape["code"], shape["line"], shape["column"]) == ("J210", 3, 7)
    assert (shape["end_line"], shape["end_column"]) == (3, 14)


def test_each_code_links_to_its_explanation() -> None:
    assert help_url("J401").endswith("/docs/diagnostics.md#j401")
    assert "### J401\n" in DOC


def test_a_problem_with_the_whole_file_still_has_a_range() -> None:
    problem = Diagnostic("j.journey", 1, 1, "error", "no such file or folder", code="J003")
    assert (problem.end_line, problem.end_column) == (1, 2)


@needs_spec()
@pytest.mark.parametrize("path", invalid_files(), ids=lambda p: p.stem)
def test_every_diagnostic_of_the_invalid_examples_has_a_documented_code(path: Path) -> None:
    _, found = compile_source(path.read_text(), path.name)
    assert found
    for problem in found:
        assert CODE.fullmatch(problem.code), problem
        assert f"### {problem.code}\n" in DOC
        assert (problem.end_line, problem.end_column) > (problem.line, problem.column)


def test_journey_check_shows_the_code_and_underlines_the_span(tmp_path: Path) -> None:
    path = tmp_path / "j.journey"
    path.write_text(HEAD + "go to nowhere\n", encoding="utf-8")
    text = CliRunner().invoke(app, ["check", str(path)]).output.splitlines()
    assert text[0] == f"{path}:3:7: error: no step is named `nowhere`  [J210]"
    assert text[1:3] == ["    go to nowhere", "          ^^^^^^^"]
    shown = CliRunner().invoke(app, ["check", "--json", str(path)])
    (problem,) = json.loads(shown.output)
    assert {k: problem[k] for k in ("code", "line", "column", "end_line", "end_column")} == {
        "code": "J210",
        "line": 3,
        "column": 7,
        "end_line": 3,
        "end_column": 14,
    }
