"""Hover, go to definition, formatting and the outline, as an editor asks for them."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from journey.dsl import format_source
from journey.lsp.hover import MEANINGS
from tests.lsp.conftest import at, diagnostics_of, open_document, span

pytestmark = pytest.mark.asyncio(loop_scope="module")

JOURNEY = """\
journey "Navigation"
trigger entered segment "High intent"
goal "Met" when field "Lead Status" is "Qualified"
step weekly
wait 1 week
if field "Score" > 50:
    assign lead to group "SDR Round Robin"
    add task "Call {{First Name}}" assigned to "ann@acme.example"
else:
    update field "Trial Ends" to "2026-01-01"
go to weekly
"""


@pytest.fixture(scope="module")
def document(project: Path) -> Path:
    return project / "journeys" / "navigation.journey"


async def _opened(client: LanguageClient, document: Path) -> str:
    uri = open_document(client, document, JOURNEY)
    await diagnostics_of(client, uri)
    return uri


async def _hover(client: LanguageClient, uri: str, line: int, character: int) -> str:
    found = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=at(line, character)
        )
    )
    assert found is not None
    assert isinstance(found.contents, types.MarkupContent)
    return found.contents.value


async def test_hover_gives_a_fields_type_and_source(client: LanguageClient, document: Path) -> None:
    uri = await _opened(client, document)
    score = await _hover(client, uri, 5, 12)
    assert score == "**Score** · Number\n\ndeclared in journey.toml [fields]"
    placeholder = await _hover(client, uri, 7, 20)
    assert "**First Name** · Text" in placeholder
    assert "standard contact field (Lead.FirstName, Contact.FirstName)" in placeholder


async def test_hover_explains_an_action_and_names_a_user(
    client: LanguageClient, document: Path
) -> None:
    uri = await _opened(client, document)
    action = await _hover(client, uri, 6, 6)
    assert action == "**assign lead to group** · " + MEANINGS["assign lead to group"]
    user = await _hover(client, uri, 7, 50)
    assert user.startswith("**Ann Archer** · ann@acme.example · active")
    segment = await _hover(client, uri, 1, 30)
    assert 'field "Rating" is "Hot"' in segment


async def _definition(
    client: LanguageClient, uri: str, line: int, character: int
) -> types.Location:
    found = await client.text_document_definition_async(
        types.DefinitionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=at(line, character)
        )
    )
    assert isinstance(found, types.Location)
    return found


async def test_go_to_definition_of_a_step_name_finds_its_label(
    client: LanguageClient, document: Path
) -> None:
    uri = await _opened(client, document)
    found = await _definition(client, uri, 10, 8)
    assert found.uri == uri
    assert found.range == span((3, 5), (3, 11))


async def test_go_to_definition_of_a_segment_and_a_group_opens_journey_toml(
    client: LanguageClient, document: Path, project: Path
) -> None:
    uri = await _opened(client, document)
    toml = (project / "journey.toml").resolve().as_uri()
    lines = (project / "journey.toml").read_text().splitlines()
    segment = await _definition(client, uri, 1, 28)
    assert segment.uri == toml
    assert lines[segment.range.start.line].startswith('"High intent" =')
    group = await _definition(client, uri, 6, 30)
    assert group.uri == toml
    assert lines[group.range.start.line].startswith('"SDR Round Robin" =')
    assert group.range.start.character == 0
    assert group.range.end.character == len('"SDR Round Robin"')


async def test_formatting_is_journey_fmt(client: LanguageClient, document: Path) -> None:
    messy = JOURNEY.replace("    ", "  ").replace("wait 1 week", "WAIT  1 WEEK")
    uri = open_document(client, document.with_name("messy.journey"), messy)
    await diagnostics_of(client, uri)
    edits = await client.text_document_formatting_async(
        types.DocumentFormattingParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            options=types.FormattingOptions(tab_size=4, insert_spaces=True),
        )
    )
    assert edits is not None
    (edit,) = edits
    assert edit.new_text == format_source(messy)
    assert edit.range.start == at(0, 0)
    assert edit.range.end == at(messy.count("\n"), 0)


async def test_formatting_a_formatted_file_changes_nothing(
    client: LanguageClient, document: Path
) -> None:
    uri = open_document(client, document.with_name("tidy.journey"), format_source(JOURNEY))
    await diagnostics_of(client, uri)
    edits = await client.text_document_formatting_async(
        types.DocumentFormattingParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            options=types.FormattingOptions(tab_size=4, insert_spaces=True),
        )
    )
    assert edits is not None
    assert list(edits) == []


def _outline(found: list[types.DocumentSymbol]) -> list[object]:
    return [
        (s.name, s.detail, s.kind, s.range.start.line, _outline(list(s.children or [])))
        for s in found
    ]


async def test_the_outline_is_the_steps_with_their_ids(
    client: LanguageClient, document: Path
) -> None:
    uri = await _opened(client, document)
    found = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    assert found is not None
    assert all(isinstance(s, types.DocumentSymbol) for s in found)
    kind = types.SymbolKind
    assert _outline(found) == [  # type: ignore[arg-type]
        (
            "Navigation",
            "journey",
            kind.Module,
            0,
            [
                ('trigger entered segment "High intent"', "trigger", kind.Event, 1, []),
                ('goal "Met" when field "Lead Status" is "Qualified"', "goal", kind.Boolean, 2, []),
                ("weekly", "wait 1 week · weekly", kind.Function, 4, []),
                (
                    'if field "Score" > 50',
                    "2",
                    kind.Function,
                    5,
                    [
                        (
                            'if field "Score" > 50',
                            None,
                            kind.Namespace,
                            5,
                            [
                                (
                                    'assign lead to group "SDR Round Robin"',
                                    "2.yes.1",
                                    kind.Function,
                                    6,
                                    [],
                                ),
                                (
                                    'add task "Call {{First Name}}" assigned to "ann@acme.example"',
                                    "2.yes.2",
                                    kind.Function,
                                    7,
                                    [],
                                ),
                            ],
                        ),
                        (
                            "else",
                            None,
                            kind.Namespace,
                            8,
                            [
                                (
                                    'update field "Trial Ends" to "2026-01-01"',
                                    "2.else.1",
                                    kind.Function,
                                    9,
                                    [],
                                )
                            ],
                        ),
                    ],
                ),
                ("go to weekly", None, kind.Function, 10, []),
            ],
        )
    ]
