"""Completion in context: what the words before the cursor call for, from the project —
fields (journey.toml and the standard ones), users and queues, groups, campaigns and
their own member statuses, lead statuses, lists, segments, step names after ``go to``,
the statements at a line's start, the tests a field's type allows."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.lsp.conftest import at, diagnostics_of, open_document

pytestmark = pytest.mark.asyncio(loop_scope="module")

HEAD = 'journey "Completion"\ntrigger added to list "Website Leads"\nstep weekly\nwait 1 week\n'


async def _complete(
    client: LanguageClient, project: Path, line: str, name: str
) -> list[types.CompletionItem]:
    """The completions at the end of ``line``, typed as the last line of a journey."""
    uri = open_document(client, project / "journeys" / f"{name}.journey", HEAD + line)
    await diagnostics_of(client, uri)
    result = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=at(HEAD.count("\n"), len(line)),
        )
    )
    assert isinstance(result, types.CompletionList)
    return list(result.items)


def _labels(items: list[types.CompletionItem]) -> set[str]:
    return {item.label for item in items}


@pytest.mark.parametrize(
    ("line", "expected", "not_expected"),
    [
        (
            'if field "',
            {"Score", "Trial Ends", "Email", "Lead Status", "Website"},
            {"SDR Round Robin"},
        ),
        ('assign lead to "', {"ann@acme.example", "jane@acme.example", "Inbound Queue"}, {"Score"}),
        ('add task "Call" assigned to "', {"ann@acme.example"}, {"Inbound Queue"}),
        ('assign lead to group "', {"SDR Round Robin"}, {"ann@acme.example"}),
        ('set member status "Sent" in campaign "', {"Q4 Webinar", "Q4 Demo Campaign"}, set()),
        (
            'if campaign member status in "Q4 Webinar" is "',
            {"Sent", "Registered", "Attended"},
            {"Responded"},
        ),
        ('assign lead to "ann@acme.example" lead status "', {"Working", "Qualified"}, set()),
        ('add to list "', {"Nurture", "Website Leads", "Salesforce Leads"}, set()),
        ('if in segment "', {"High intent"}, set()),
        ("go to ", {"weekly", "end"}, set()),
        ("ass", {"assign lead to", "assign lead to group"}, set()),
        ('if field "Score" ', {">", "<=", "is empty"}, {"contains", "is true"}),
        ('if field "Unsubscribed" ', {"is true", "is false"}, {">", "contains"}),
        ("wait 3 ", {"days", "hours"}, set()),
        ('add task "Call {{Fi', {"First Name", "Score"}, set()),
        ("if ", {"field", "in list", "in segment", "is salesforce lead"}, set()),
        (
            'assign lead to "ann@acme.example" keep current assignment ',
            {"lead source", "lead status"},
            {"keep current assignment"},
        ),
        (
            'add task "Call" due in 2 days ',
            {"assigned to", "assigned to lead owner", "priority"},
            {"due in"},
        ),
        ("    tri", {"add task"}, {"trigger added to list", "journey"}),
    ],
    ids=[
        "fields",
        "users-and-queues",
        "task-users",
        "groups",
        "campaigns",
        "member-statuses",
        "lead-statuses",
        "lists",
        "segments",
        "step-names",
        "statements",
        "number-tests",
        "true-false-tests",
        "units",
        "placeholders",
        "conditions",
        "assign-options",
        "task-options",
        "no-header-in-a-block",
    ],
)
async def test_completion_offers_what_the_context_calls_for(
    client: LanguageClient,
    project: Path,
    line: str,
    expected: set[str],
    not_expected: set[str],
    request: pytest.FixtureRequest,
) -> None:
    items = await _complete(client, project, line, request.node.callspec.id)
    labels = _labels(items)
    assert expected <= labels
    assert not (not_expected & labels)


async def test_a_name_completes_with_its_closing_quote_over_what_was_typed(
    client: LanguageClient, project: Path
) -> None:
    items = await _complete(client, project, 'assign lead to group "SD', "quote")
    (item,) = [i for i in items if i.label == "SDR Round Robin"]
    assert isinstance(item.text_edit, types.TextEdit)
    assert item.text_edit.new_text == 'SDR Round Robin"'
    line = HEAD.count("\n")
    assert item.text_edit.range == types.Range(start=at(line, 22), end=at(line, 24))
    assert item.detail == "ann@acme.example, bob@acme.example, zed@acme.example"


async def test_a_field_shows_its_type_and_source(client: LanguageClient, project: Path) -> None:
    items = await _complete(client, project, 'update field "', "detail")
    details = {i.label: i.detail for i in items}
    assert details["Score"] == "Number · declared in journey.toml [fields]"
    assert details["Email"] == "Text · standard contact field (Lead.Email, Contact.Email)"
    assert details["Website"] == "Text · synced with Salesforce Lead.Website (salesforce wins)"
