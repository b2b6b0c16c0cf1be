"""A sync's Bulk API 2.0 first read whose access token expires between result pages: the
token is renewed and the same page asked for again, so every record is read, none twice.
Salesforce: "As long as the associated job exists, the locator string for a set of
results does not change. You can use the locator to retrieve a set of results multiple
times" (https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_get_job_results.htm).
The org is seeded with records the tool did not create (``tests.existing_org``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from journey.connectors.factory import open_connector
from journey.connectors.salesforce.connector import SalesforceConnector
from journey.connectors.salesforce.replication import SalesforceReplication
from journey.connectors.sync import ObjectRead
from journey.emulator import EmulatedOrg
from journey.engine.config import ProjectConfig
from tests.emulator.oauth_support import KeyPair, oauth_seed
from tests.existing_org import PEOPLE

KEYS = KeyPair()


@pytest.fixture(scope="module")
def org() -> Iterator[EmulatedOrg]:
    with EmulatedOrg(seed=oauth_seed(KEYS)) as emulated:
        emulated.start()
        yield emulated


def test_every_bulk_page_is_renewed_on_an_expired_token(
    org: EmulatedOrg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SF_CLIENT_ID", "server-client-id")
    monkeypatch.setenv("SF_USERNAME", PEOPLE["ann"])
    monkeypatch.setenv("SF_KEY", KEYS.private_pem)
    endpoint = org.endpoint
    config = ProjectConfig(
        root=tmp_path,
        found=True,
        store={"url": f"sqlite:///{tmp_path / 'state.db'}"},
        salesforce={
            "auth": "jwt",
            "client_id_env": "SF_CLIENT_ID",
            "username_env": "SF_USERNAME",
            "private_key_env": "SF_KEY",
            "login_url": endpoint.login_url,
            "ca_file": str(endpoint.ca_file),
        },
    )
    seeded = {
        str(r["Id"])
        for r in org.client(org.renew_session()).query_all("SELECT Id FROM Lead")["records"]
    }
    assert len(seeded) > 4  # enough for three pages of two
    with open_connector(config) as connector:
        assert isinstance(connector, SalesforceConnector)
        source = SalesforceReplication(
            connector.api, connector.state, bulk_threshold=0, bulk_page=2, clock=connector.clock
        )
        pages = source.read_all(ObjectRead("Lead", ("Email",)), expected=len(seeded))
        read = [next(pages)]
        while True:
            org.expire_session()  # the session times out before each following page
            page = next(pages, None)
            if page is None:
                break
            read.append(page)
        ids = [str(row["Id"]) for page in read for row in page]
        assert len(read) >= 3
        assert sorted(ids) == sorted(seeded)
        assert connector.api.renewals == len(read) - 1  # each page after the first
