"""Diagnostics as you type: ``journey check``'s problems, with their ranges and codes, on
the editor's buffer (not the saved file), cleared as they are fixed; journey.toml's
problems on journey.toml."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.lsp.conftest import change_document, diagnostics_of, open_document, span

pytestmark = pytest.mark.asyncio(loop_scope="module")

BROKEN = """\
journey "Routing"
trigger added to list "Website Leads"
assign lead to "nobody@acme.example"
go to nowhere
"""


async def test_problems_come_with_their_range_code_and_explanation(
    client: LanguageClient, project: Path
) -> None:
    uri = open_document(client, project / "journeys" / "routing.journey", BROKEN)
    found = await diagnostics_of(client, uri)
    by_code = {d.code: d for d in found}
    assert set(by_code) == {"J401", "J210"}
    user = by_code["J401"]
    assert user.range == span((2, 0), (2, 36))
    assert user.severity == types.DiagnosticSeverity.Error
    assert user.message.startswith('unknown user "nobody@acme.example"\nhint: ')
    assert user.source == "journey"
    assert user.code_description is not None
    assert user.code_description.href.endswith("docs/diagnostics.md#j401")
    label = by_code["J210"]
    assert label.range == span((3, 6), (3, 13))
    assert label.message.startswith("no step is named `nowhere`")


async def test_fixing_the_buffer_clears_its_problems(client: LanguageClient, project: Path) -> None:
    uri = open_document(client, project / "journeys" / "fixing.journey", BROKEN)
    assert len(await diagnostics_of(client, uri)) == 2
    fixed = BROKEN.replace("nobody@", "ann@").replace("go to nowhere", "exit")
    change_document(client, uri, 2, fixed)
    assert await diagnostics_of(client, uri) == []


async def test_a_line_being_typed_is_a_syntax_error_over_the_word(
    client: LanguageClient, project: Path
) -> None:
    uri = open_document(client, project / "journeys" / "typing.journey", BROKEN)
    await diagnostics_of(client, uri)
    change_document(client, uri, 2, 'journey "Routing"\ntrigger added to list "A"\nwait 2 dayz\n')
    (problem,) = await diagnostics_of(client, uri)
    assert (problem.code, problem.range) == ("J101", span((2, 7), (2, 11)))


async def test_ranges_count_what_the_editor_counts(client: LanguageClient, project: Path) -> None:
    # U+1F389 is one character to the checker, two UTF-16 units to the editor.
    text = 'journey "Party"\ntrigger added to list "A"\nassign lead to "🎉@acme.example"\n'
    uri = open_document(client, project / "journeys" / "party.journey", text)
    (problem,) = await diagnostics_of(client, uri)
    assert problem.code == "J401"
    assert problem.range == span((2, 0), (2, 32))


async def test_a_file_outside_any_project_only_warns_about_names(
    client: LanguageClient, tmp_path: Path
) -> None:
    uri = open_document(client, tmp_path / "loose.journey", BROKEN)
    found = await diagnostics_of(client, uri)
    assert {(d.code, d.severity) for d in found} == {
        ("J400", types.DiagnosticSeverity.Warning),
        ("J210", types.DiagnosticSeverity.Error),
    }


async def test_journey_toml_problems_are_shown_on_journey_toml(
    client: LanguageClient, project: Path
) -> None:
    toml = (project / "journey.toml").resolve().as_uri()
    client.diagnostics.pop(toml, None)
    open_document(client, project / "journeys" / "any.journey", BROKEN)
    (problem,) = await diagnostics_of(client, toml)
    assert problem.code == "J401"
    assert 'unknown user "zed@acme.example"' in problem.message
    assert problem.range.start.line == 8  # line 9, where the group is


async def test_a_byte_order_mark_counts_for_the_editor(
    client: LanguageClient, project: Path
) -> None:
    uri = open_document(
        client, project / "journeys" / "bom.journey", '\ufeffjourney "No trigger"\n'
    )
    (problem,) = await diagnostics_of(client, uri)
    assert problem.code == "J155"
    assert problem.range == span((0, 1), (0, 21))
