"""Fixtures for the Salesforce connector tests: the seeded emulated org over HTTPS (from
``tests/emulated_org.py``), and a ``SalesforceConnector`` talking to it through
simple-salesforce exactly as ``open_connector`` builds one — a real SQLite store file for
its state, no patching anywhere."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from simple_salesforce.api import Salesforce

from journey.connectors.base import ContactSnapshot, EffectRequest, EffectResult
from journey.connectors.notify import Notifier
from journey.connectors.salesforce.batching import OrgApi
from journey.connectors.salesforce.budget import ApiBudget
from journey.connectors.salesforce.connection import Endpoint, connect
from journey.connectors.salesforce.connector import SalesforceConnector
from journey.connectors.salesforce.errors import Backoff
from journey.connectors.salesforce.state import ConnectorState
from journey.dsl.syntax import Action
from journey.emulator import EmulatedOrg
from journey.engine.config import NotificationsConfig, SalesforceConfig
from journey.engine.store import open_store

GROUPS = {"SDR Round Robin": ["ann@acme.example", "bob@acme.example", "eva@acme.example"]}
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def no_sleep(_seconds: float) -> None:
    """Backoff without waiting: the retries still happen, the test stays fast."""


@dataclass
class Harness:
    """A connector on the emulated org, and helpers to build requests and read the org."""

    org: EmulatedOrg
    sf: Salesforce
    connector: SalesforceConnector
    state: ConnectorState
    folder: Path
    keys: int = 0
    contacts: dict[str, ContactSnapshot] = field(default_factory=dict)

    def request(self, contact: ContactSnapshot, **params: Any) -> EffectRequest:
        self.keys += 1
        return EffectRequest(f"run{contact.id}:{self.keys}", contact, params)

    def perform(
        self, action: Action, contacts: list[ContactSnapshot], **params: Any
    ) -> list[EffectResult]:
        return self.connector.perform(action, [self.request(c, **params) for c in contacts])

    def query(self, soql: str) -> list[dict[str, Any]]:
        return list(self.sf.query_all(soql)["records"])


def contact(
    cid: int,
    email: str | None = None,
    *,
    salesforce_id: str | None = None,
    salesforce_type: Any = None,
    **fields: str,
) -> ContactSnapshot:
    values = {k.replace("_", " "): v for k, v in fields.items()}
    if email:
        values["Email"] = email
    return ContactSnapshot(
        id=cid,
        email=email,
        fields=values,
        salesforce_id=salesforce_id,
        salesforce_type=salesforce_type,
    )


def build_connector(
    org: EmulatedOrg,
    folder: Path,
    *,
    settings: Mapping[str, Any] | None = None,
    state_cls: Callable[[str], ConnectorState] = ConnectorState,
    bulk_threshold: int = 2000,
) -> tuple[SalesforceConnector, ConnectorState]:
    endpoint = org.endpoint
    config = SalesforceConfig(**(settings or {}))
    url = f"sqlite:///{folder / 'state.db'}"
    open_store(url).close()  # the store's migrations make the connector's tables
    state = state_cls(url)
    budget = ApiBudget(state, config.max_daily_api_share, clock=lambda: NOW)
    client = connect(
        Endpoint(
            endpoint.instance_url,
            endpoint.version,
            session_id=endpoint.session_id,
            ca_file=endpoint.ca_file,
        ),
        hooks=[budget.hook],
    )
    api = OrgApi(
        client,
        budget,
        backoff=Backoff(attempts=3, first=0.01, sleep=no_sleep),
        bulk_threshold=bulk_threshold,
    )
    notifier = Notifier(NotificationsConfig(), folder / "outbox", environ={})
    connector = SalesforceConnector(
        api, state, config, groups=GROUPS, notifier=notifier, clock=lambda: NOW
    )
    return connector, state


@pytest.fixture
def harness(org: EmulatedOrg, sf: Salesforce, tmp_path: Path) -> Iterator[Harness]:
    connector, state = build_connector(org, tmp_path)
    yield Harness(org, sf, connector, state, tmp_path)
    connector.close()
