"""The one failure path: every way a command refuses prints the same shape — ``error:`` and
``hint:`` lines on stderr, or ``{"error": {code, message, where, hint}}`` on stdout with
``--json`` — and ends with the exit code of the README's table. Never a traceback, unless
asked for."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from journey.cli.errors import CODES, ExitCode
from journey.cli.main import app

JOURNEY = 'journey "Welcome"\n\ntrigger form submitted "Hello"\n\nupdate field "Rating" to "Warm"\n'


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "journeys").mkdir()
    (tmp_path / "journeys" / "welcome.journey").write_text(JOURNEY)
    (tmp_path / "journey.toml").write_text('[fields]\n"Plan Tier" = "Text"\n')
    (tmp_path / "people.csv").write_text("Email,Annual Revenue\nok@x.example,10\n,5\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    monkeypatch.delenv("JOURNEY_DEBUG", raising=False)
    return tmp_path


def error_of(*args: str, code: int) -> dict[str, Any]:
    """The error object ``journey ARGS --json`` prints, checking the exit code; the same
    command without ``--json`` says the same in words on stderr."""
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == code, (result.output, result.exception)
    assert result.stderr == ""
    shown = json.loads(result.stdout)
    assert list(shown) == ["error"]
    error: dict[str, Any] = shown["error"]
    assert list(error) == ["code", "message", "where", "hint"]
    assert CODES[error["code"]] == code
    words = CliRunner().invoke(app, list(args))
    assert words.exit_code == code
    head = f"{error['where']}: {error['message']}" if error["where"] else error["message"]
    assert words.stderr.startswith(f"error: {head}\n")
    assert "Traceback" not in words.output
    return error


def test_a_bad_journey_toml_says_where(project: Path) -> None:
    (project / "journey.toml").write_text("[fields]\n\n\"Plan Tier\" 'Text'\n")
    error = error_of("status", code=2)
    assert error["code"] == "config"
    assert error["where"] == f"{project / 'journey.toml'}:3:13"


def test_a_bad_value_in_journey_toml_names_the_key(project: Path) -> None:
    (project / "journey.toml").write_text('[sync.Leads]\nmode = "all"\n')
    error = error_of("check", "journeys", code=2)
    assert (error["code"], error["where"]) == ("config", str(project / "journey.toml"))
    assert "Leads" in error["message"]


def test_a_journey_that_does_not_compile_stops_run(project: Path) -> None:
    (project / "journeys" / "broken.journey").write_text(
        'journey "B"\ntrigger form submitted "F"\nwait 2 fortnights\n'
    )
    error = error_of("run", code=2)
    assert error["code"] == "journey"
    assert error["where"].endswith("broken.journey:3:8")
    assert error["hint"]


def test_bad_arguments_are_usage_errors(project: Path) -> None:
    missing = error_of("contact", code=2)
    assert (missing["code"], missing["message"]) == ("usage", "Missing argument 'EMAIL'.")
    assert "journey contact --help" in missing["hint"]
    moment = error_of("run", "--now", "next tuesday", code=2)
    assert moment["message"] == "'next tuesday' is not an ISO date-time"
    assert moment["hint"] == "e.g. 2026-03-01T09:00 or 2026-03-01"
    field = error_of(
        "event", "form-submitted", "F", "--email", "a@x.example", "--field", "x", code=2
    )
    assert field["message"] == "--field 'x': write it as NAME=VALUE"


def test_an_unreadable_csv_is_an_input_error(project: Path) -> None:
    error = error_of("contacts", "import", "missing.csv", code=2)
    assert error["code"] == "input"
    assert "missing.csv: cannot read" in error["message"]


def test_naming_what_is_not_there(project: Path) -> None:
    assert CliRunner().invoke(app, ["run", "--now", "2026-03-02T09:00"]).exit_code == 0
    contact = error_of("contact", "nobody@x.example", code=2)
    assert (contact["code"], contact["hint"]) == ("not_found", None)
    journey = error_of("status", "Nope", code=2)
    assert journey["message"] == 'no published journey is named "Nope"'


def test_a_file_that_cannot_be_written_says_which(project: Path) -> None:
    error = error_of("graph", "journeys/welcome.journey", "-o", "no/such/folder.mmd", code=2)
    assert (error["code"], error["where"]) == ("file", "no/such/folder.mmd")


def test_a_store_from_a_newer_release_is_refused_not_touched(project: Path) -> None:
    assert CliRunner().invoke(app, ["run", "--now", "2026-03-02T09:00"]).exit_code == 0
    db = project / ".journey" / "state.db"
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    error = error_of("status", code=2)
    assert error["code"] == "store"
    assert "9999_from_the_future" in error["message"]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [
            ("9999_from_the_future",)
        ]


def test_an_unexpected_failure_is_an_internal_error_without_a_traceback(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / ".journey").mkdir()
    (project / ".journey" / "state.db").write_text("this is not a database")
    error = error_of("contact", "ada@initech.example", code=ExitCode.INTERNAL)
    assert error["code"] == "internal"
    assert "JOURNEY_DEBUG=1" in error["hint"]
    monkeypatch.setenv("JOURNEY_DEBUG", "1")
    result = CliRunner().invoke(app, ["contact", "ada@initech.example"])
    assert result.exception is not None
    assert not isinstance(result.exception, SystemExit)  # the traceback, for a bug report
    monkeypatch.delenv("JOURNEY_DEBUG")
    result = CliRunner().invoke(app, ["--debug", "contact", "ada@initech.example"])
    assert not isinstance(result.exception, SystemExit)


# --- Exit codes ------------------------------------------------------------------------


def exit_code(*args: str) -> int:
    return CliRunner().invoke(app, list(args)).exit_code


def test_refused_rows_exit_1_in_import_and_in_dry_run_alike(project: Path) -> None:
    result = CliRunner().invoke(app, ["contacts", "import", "people.csv", "--json"])
    assert result.exit_code == 1
    [refused] = json.loads(result.stdout)["errors"]
    assert refused == {
        "code": "input",
        "message": "no Email (or Salesforce ID) to identify the contact",
        "where": "people.csv:3",
        "hint": None,
        "row": 3,
    }
    args = ["dry-run", "journeys/welcome.journey", "--contacts", "people.csv"]
    dry = CliRunner().invoke(app, [*args, "--json"])
    assert dry.exit_code == 1
    assert json.loads(dry.stdout)["errors"] == [refused]
    assert exit_code(*args) == 1


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("check", "journeys"), 0),
        (("check", "journeys/nowhere.journey"), 1),
        (("fmt", "--check", "journeys"), 0),
        (("graph", "journeys/welcome.journey"), 0),
        (("run", "--now", "2026-03-02T09:00"), 0),
        (("status",), 0),
        (("status", "Nope"), 2),
        (("contact", "nobody@x.example"), 2),
        (("salesforce", "fields", "refresh", "Opportunity"), 2),
        (("nope",), 2),
        ((), 2),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, tuple) else str(value),
)
def test_exit_codes(project: Path, args: tuple[str, ...], code: int) -> None:
    assert exit_code(*args) == code


def test_the_readme_documents_every_exit_code_and_error_code() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Exit codes and errors", 1)[1].split("\n## ", 1)[0]
    documented = {int(n) for n in re.findall(r"^\| (\d+) \|", section, flags=re.MULTILINE)}
    assert documented == {int(code) for code in ExitCode}
    for code in CODES:
        assert f"`{code}`" in section
