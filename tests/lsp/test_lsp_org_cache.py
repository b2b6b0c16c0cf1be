"""A project on a real org (not running: nothing listens at its URL): the editor takes the
org's names from the cache ``journey salesforce refresh`` wrote (``.journey/org.json``),
as ``journey check`` does — completion offers them, hover tells an inactive user, and
naming one is the same error."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from journey.engine.org_cache import OrgCampaign, OrgCatalog, OrgLeadStatus, OrgUser, save_catalog
from tests.lsp.conftest import at, diagnostics_of, open_document

pytestmark = pytest.mark.asyncio(loop_scope="module")

URL = "https://org.example.my.salesforce.com"
HEAD = 'journey "Cached"\ntrigger added to list "A"\n'


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("remote-project")
    (root / "journey.toml").write_text(
        f'[salesforce]\ninstance_url = "{URL}"\nsession_id_env = "SF_SESSION"\n'
    )
    (root / "journeys").mkdir()
    catalog = OrgCatalog(
        read_at=datetime.now(UTC),
        instance_url=URL,
        users=(
            OrgUser(
                "005000000000001AAA", "rita@org.example", "Rita Seller", "rita@org.example", True
            ),
            OrgUser("005000000000002AAA", "old@org.example", "Old Timer", "old@org.example", False),
        ),
        campaigns=(OrgCampaign("701000000000001AAA", "Spring Launch", ("Invited", "Came")),),
        lead_statuses=(OrgLeadStatus("Fresh", "Fresh"),),
    )
    save_catalog(root / ".journey", catalog)
    return root


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[sys.executable, "-m", "journey", "lsp"]),
    scope="module",
)
async def cached(lsp_client: LanguageClient, remote: Path) -> AsyncIterator[None]:
    params = types.InitializeParams(
        capabilities=client_capabilities("neovim"), root_uri=remote.as_uri()
    )
    await lsp_client.initialize_session(params)
    yield
    await lsp_client.shutdown_session()


async def _labels(client: LanguageClient, uri: str, line: int, character: int) -> set[str]:
    result = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=at(line, character)
        )
    )
    assert isinstance(result, types.CompletionList)
    return {item.label for item in result.items}


async def test_completion_offers_the_cached_orgs_names(
    cached: LanguageClient, remote: Path
) -> None:
    text = HEAD + 'assign lead to "\nset member status "" in campaign "Spring Launch"\n'
    uri = open_document(cached, remote / "journeys" / "cached.journey", text)
    await diagnostics_of(cached, uri)
    assert await _labels(cached, uri, 2, 16) == {"rita@org.example"}
    assert await _labels(cached, uri, 3, 19) == {"Invited", "Came"}


async def test_an_inactive_user_is_the_checks_error_and_says_so_on_hover(
    cached: LanguageClient, remote: Path
) -> None:
    text = HEAD + 'assign lead to "old@org.example"\n'
    uri = open_document(cached, remote / "journeys" / "inactive.journey", text)
    (problem,) = await diagnostics_of(cached, uri)
    assert problem.code == "J402"
    found = await cached.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=at(2, 20))
    )
    assert found is not None
    assert isinstance(found.contents, types.MarkupContent)
    assert found.contents.value.startswith("**Old Timer** · old@org.example · **inactive**")
