"""What only Salesforce changes is a ``journey check`` error: removing a contact from
"Salesforce Leads"/"Salesforce Contacts" (the lists are the record type) and writing a
field journey.toml maps inbound only. The invalid examples in ``tests/dsl/invalid`` follow
the spec's convention (first line ``# expect-error: LINE:COL WORD``) and are checked with
the project's own schema, through the CLI."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from journey.cli.main import app
from journey.dsl import Schema, compile_source
from journey.engine.config import ProjectConfig
from journey.engine.journeys import schema_for

INVALID = sorted((Path(__file__).parent / "invalid").glob("*.journey"))
HEAD = 'journey "J"\ntrigger added to list "A"\n'
TOML = """[sync.fields.Lead]
"Score" = { salesforce = "Score__c", direction = "inbound only" }
"Plan Tier" = { salesforce = "Plan_Tier__c" }
"""


def _schema(tmp_path: Path, toml: str = TOML) -> Schema:

    config = ProjectConfig.model_validate({**tomllib.loads(toml), "root": tmp_path, "found": True})
    return schema_for(config)


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_example_fails_check_where_it_says(path: Path, tmp_path: Path) -> None:
    text = path.read_text()
    expected = re.match(r"# expect-error: (\d+):(\d+) (.+)", text.splitlines()[0])
    assert expected
    (tmp_path / "journey.toml").write_text(TOML)
    (tmp_path / "journeys").mkdir()
    target = tmp_path / "journeys" / path.name
    target.write_text(text)
    result = CliRunner().invoke(app, ["check", str(target)])
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit)
    first = next(line for line in result.output.splitlines() if ": error: " in line)
    assert f"{path.name}:{expected[1]}:{expected[2]}: error:" in first
    assert expected[3].lower() in result.output.lower()


@pytest.mark.parametrize("name", ["Salesforce Leads", "salesforce contacts"])
def test_removing_from_a_salesforce_list_is_an_error_with_a_hint(name: str, tmp_path: Path) -> None:
    _, found = compile_source(HEAD + f'remove from list "{name}"\n', "j.journey", _schema(tmp_path))
    (problem,) = found
    assert (problem.line, problem.column, problem.severity) == (3, 1, "error")
    assert "cannot remove" in problem.message
    assert problem.hint == "change the sync criteria or delete the record in Salesforce"


def test_adding_to_a_salesforce_list_and_removing_from_others_pass(tmp_path: Path) -> None:
    body = 'add to list "Salesforce Leads"\nremove from list "Website Leads"\n'
    assert compile_source(HEAD + body, "j.journey", _schema(tmp_path))[1] == []


def test_writing_an_inbound_only_field_is_an_error(tmp_path: Path) -> None:
    body = (
        'update field "score" to "5"\n'
        'update salesforce field "Account Type" to "Customer"\n'
        'update field "Plan Tier" to "Gold"\n'
        'update field "Company" to "Acme"\n'
    )
    found = compile_source(HEAD + body, "j.journey", _schema(tmp_path))[1]
    assert [(d.line, d.severity) for d in found] == [(3, "error"), (4, "error")]
    assert all("inbound only" in d.message for d in found)
    assert found[0].hint is not None
    assert "change it in Salesforce" in found[0].hint


def test_a_field_writable_on_another_synced_object_is_not_inbound_only(tmp_path: Path) -> None:
    # "Region" reads the Account on Contacts but is the Lead's own field: writable there.
    toml = """[sync.fields.Contact]
"Region" = { salesforce = "Account.Region__c" }
[sync.fields.Lead]
"Region" = { salesforce = "Region__c" }
"""
    body = 'update field "Region" to "EMEA"\n'
    assert compile_source(HEAD + body, "j.journey", _schema(tmp_path, toml))[1] == []
    no_leads = toml + '[sync.Lead]\nmode = "none"\n'
    (problem,) = compile_source(HEAD + body, "j.journey", _schema(tmp_path, no_leads))[1]
    assert "inbound only" in problem.message
