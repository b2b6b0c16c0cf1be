"""A real editor session: ``journey lsp`` started as a process and driven over stdio by
pytest-lsp's client (with Visual Studio Code's capabilities, so the server is held to
what a real client accepts), on a temporary project: a journey.toml with fields, a group
and a segment, the example org's seed (users, a queue, campaigns and their statuses,
lead statuses) and a saved journey naming a list and a form."""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from journey.example import example_project

TOML = """\
[salesforce]
seed = "salesforce-seed.json"

[fields]
"Score" = "Number"
"Trial Ends" = "Date"

[groups]
"SDR Round Robin" = ["ann@acme.example", "bob@acme.example", "zed@acme.example"]

[segments]
"High intent" = 'field "Rating" is "Hot"'

[sync.fields.Lead]
"Website" = { salesforce = "Website" }
"""

SAVED = """\
journey "Welcome"
trigger form submitted "Demo request"
add to list "Nurture"
"""

#: An upper bound against a server that never answers, not a timing.
PATIENCE = 60


@pytest.fixture(scope="session")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lsp-project")
    (root / "journey.toml").write_text(TOML, encoding="utf-8")
    shutil.copy(Path(str(example_project() / "salesforce-seed.json")), root)
    (root / "journeys").mkdir()
    (root / "journeys" / "welcome.journey").write_text(SAVED, encoding="utf-8")
    return root


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[sys.executable, "-m", "journey", "lsp"]),
    scope="module",
)
async def client(lsp_client: LanguageClient, project: Path) -> AsyncIterator[None]:
    params = types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        root_uri=project.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=project.as_uri(), name="project")],
    )
    await lsp_client.initialize_session(params)
    yield
    await lsp_client.shutdown_session()


def open_document(client: LanguageClient, path: Path, text: str) -> str:
    """Open ``text`` as the editor's buffer for ``path`` (not written to disk)."""
    uri = path.as_uri()
    client.diagnostics.pop(uri, None)
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="journey", version=1, text=text
            )
        )
    )
    return uri


def change_document(client: LanguageClient, uri: str, version: int, text: str) -> None:
    """Replace the whole buffer, as an editor does on each keystroke (full sync)."""
    client.diagnostics.pop(uri, None)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


async def diagnostics_of(client: LanguageClient, uri: str) -> list[types.Diagnostic]:
    """The diagnostics the server publishes next for ``uri``."""

    async def published() -> list[types.Diagnostic]:
        while uri not in client.diagnostics:
            await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        return list(client.diagnostics[uri])

    return await asyncio.wait_for(published(), PATIENCE)


def at(line: int, character: int) -> types.Position:
    return types.Position(line=line, character=character)


def span(start: tuple[int, int], end: tuple[int, int]) -> types.Range:
    return types.Range(start=at(*start), end=at(*end))
