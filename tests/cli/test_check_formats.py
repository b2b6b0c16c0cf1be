"""``journey check --format github|sarif`` and ``journey fmt --check --diff`` as CI runs them,
and both commands' default of the project's ``journeys/`` folder.

The SARIF log is validated against the SARIF 2.1.0 JSON schema, vendored as
``tests/cli/schemas/sarif-schema-2.1.0.json`` from the OASIS standard (errata 01):
https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json
(the same file as ``sarif-2.1/schema/sarif-schema-2.1.0.json`` in github.com/oasis-tcs/sarif-spec).
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from syrupy.assertion import SnapshotAssertion
from typer.testing import CliRunner

import journey.cli.language  # noqa: F401  (registers check, fmt)
from journey.cli.app import app
from journey.dsl import Diagnostic
from journey.dsl.reports import github_report, sarif_report

SARIF_SCHEMA = Path(__file__).parent / "schemas" / "sarif-schema-2.1.0.json"

runner = CliRunner()

BROKEN = 'journey "Broken"\ntrigger added to list "A"\nwait 2 dayz\n'
WARNED = 'journey "Warned"\ntrigger added to list "A"\nassign lead to "nobody@acme.example"\n'
UNFORMATTED = (
    'journey "Loose"\ntrigger added to list "A"\nif field "Plan Tier" is "Pro":\n      exit\n'
)


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository (its root marked by ``.git``) holding a project in ``crm/``, with a
    journey that does not parse and one naming a field nobody declared; the current
    folder is the project's."""
    (tmp_path / ".git").mkdir()
    project = tmp_path / "crm"
    (project / "journeys").mkdir(parents=True)
    (project / "journey.toml").write_text('[fields]\n"Plan Tier" = "Text"\n')
    (project / "journeys" / "broken.journey").write_text(BROKEN)
    (project / "journeys" / "warned.journey").write_text(WARNED)
    monkeypatch.chdir(project)
    return tmp_path


def test_github_annotations_name_the_file_from_the_repository_root(
    repo: Path, snapshot: SnapshotAssertion
) -> None:
    code, out, err = run("check", "--format", "github")
    assert code == 1
    assert out == snapshot
    lines = out.splitlines()
    assert lines[0].startswith("::error file=crm/journeys/broken.journey,line=3,col=")
    assert lines[1].startswith("::warning file=crm/journeys/warned.journey,line=3,")
    assert "checked 2 journeys: 1 error(s), 1 warning(s)" in err


def test_github_annotations_escape_what_workflow_commands_reserve(tmp_path: Path) -> None:
    diagnostic = Diagnostic(
        str(tmp_path / "a,b:c.journey"), 2, 5, "note", "100% done,\r\nsecond: line", "do x"
    )
    (line,) = github_report([diagnostic], root=tmp_path).splitlines()
    assert line == (
        "::notice file=a%2Cb%3Ac.journey,line=2,col=5,endLine=2,endColumn=5,"
        "title=journey check journey-note::100%25 done,%0D%0Asecond: line%0Ahint: do x"
    )


def test_sarif_log_is_valid_sarif_2_1_0(repo: Path, snapshot: SnapshotAssertion) -> None:
    code, out, err = run("check", "--format", "sarif")
    assert code == 1
    log = json.loads(out)
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validate(log, schema, cls=jsonschema.Draft4Validator)
    log["runs"][0]["tool"]["driver"]["version"] = "VERSION"
    assert log == snapshot
    results = log["runs"][0]["results"]
    assert [r["level"] for r in results] == ["error", "warning"]
    first = results[0]["locations"][0]["physicalLocation"]
    assert first["artifactLocation"]["uri"] == "crm/journeys/broken.journey"
    assert first["region"]["startLine"] == 3
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert {r["id"] for r in rules} == {r["ruleId"] for r in results}
    assert "checked 2 journeys" in err


def test_sarif_log_of_a_clean_project_has_no_results(repo: Path) -> None:
    for name in ("broken", "warned"):
        (repo / "crm" / "journeys" / f"{name}.journey").unlink()
    (repo / "crm" / "journeys" / "ok.journey").write_text(
        'journey "Ok"\ntrigger added to list "A"\nupdate field "Plan Tier" to "Pro"\n'
    )
    code, out, _ = run("check", "--format", "sarif")
    assert code == 0
    log = json.loads(out)
    jsonschema.validate(log, json.loads(SARIF_SCHEMA.read_text()), cls=jsonschema.Draft4Validator)
    assert log["runs"][0]["results"] == []


def test_json_flag_is_the_json_format(repo: Path) -> None:
    assert run("check", "--json")[1] == run("check", "--format", "json")[1]
    assert len(json.loads(run("check", "--json")[1])) == 2


def test_check_and_fmt_default_to_the_projects_journeys_folder(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo / "crm" / "journeys")
    code, out, _ = run("check")
    assert code == 1
    assert out.startswith("broken.journey:3:")  # named from the current folder
    assert "checked 2 journeys" in out
    code, out, _ = run("fmt", "--check")
    assert "broken.journey" in out  # it does not parse, so fmt says where


def test_check_without_a_path_outside_a_project_says_what_to_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run("check")
    assert code == 2
    assert "no journey.toml" in err
    assert "name the journey files" in err


def test_fmt_diff_shows_the_change_and_writes_nothing(repo: Path) -> None:
    journeys = repo / "crm" / "journeys"
    for name in ("broken", "warned"):
        (journeys / f"{name}.journey").unlink()
    (journeys / "loose.journey").write_text(UNFORMATTED)
    code, out, err = run("fmt", "--check", "--diff")
    assert code == 1
    assert out.splitlines()[:2] == [
        "--- journeys/loose.journey",
        "+++ journeys/loose.journey",
    ]
    assert "-      exit\n+    exit\n" in out
    assert "would reformat journeys/loose.journey" in err
    assert (journeys / "loose.journey").read_text() == UNFORMATTED
    code, out, _ = run("fmt", "--diff", "--json")
    assert code == 1
    assert "+    exit" in json.loads(out)["diffs"]["journeys/loose.journey"]


def test_fmt_diff_of_formatted_journeys_is_empty(repo: Path) -> None:
    journeys = repo / "crm" / "journeys"
    for name in ("broken", "warned"):
        (journeys / f"{name}.journey").unlink()
    (journeys / "loose.journey").write_text(UNFORMATTED)
    assert run("fmt")[0] == 0
    code, out, _ = run("fmt", "--check", "--diff")
    assert code == 0
    assert "---" not in out
    assert "already formatted" in out


def test_a_finding_with_a_code_and_an_end_is_placed_on_its_whole_extent(tmp_path: Path) -> None:
    path = str(tmp_path / "a.journey")
    # A diagnostic's end column is one past its end, as editors count; GitHub's is the last.
    one_line = Diagnostic(path, 3, 6, "error", "bad", code="J101", end_line=3, end_column=10)
    across = Diagnostic(path, 3, 6, "warning", "odd", code="J202", end_line=5, end_column=3)
    first, second = github_report([one_line, across], root=tmp_path).splitlines()
    assert first.startswith("::error file=a.journey,line=3,col=6,endLine=3,endColumn=9,")
    assert "title=journey check J101::" in first
    # Columns place an annotation on one line only.
    assert second.startswith("::warning file=a.journey,line=3,endLine=5,title=")
    log = json.loads(sarif_report([one_line, across], root=tmp_path, tool_version="1"))
    jsonschema.validate(log, json.loads(SARIF_SCHEMA.read_text()), cls=jsonschema.Draft4Validator)
    regions = [r["locations"][0]["physicalLocation"]["region"] for r in log["runs"][0]["results"]]
    assert (regions[0]["startColumn"], regions[0]["endColumn"]) == (6, 10)  # SARIF: one past
    assert (regions[1]["endLine"], regions[1]["endColumn"]) == (5, 3)
    assert [rule["id"] for rule in log["runs"][0]["tool"]["driver"]["rules"]] == ["J101", "J202"]
