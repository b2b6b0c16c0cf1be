"""The sync tests' world: the emulated org over HTTPS, a real SQLite store, and the sync
wired exactly as ``journey sync`` wires it (simple-salesforce, budget, OrgApi)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from simple_salesforce.api import Salesforce

from journey.connectors.salesforce.batching import OrgApi
from journey.connectors.salesforce.budget import ApiBudget
from journey.connectors.salesforce.connection import Endpoint, connect
from journey.connectors.salesforce.connector import clear_pause
from journey.connectors.salesforce.errors import Backoff
from journey.connectors.salesforce.replication import SalesforceReplication
from journey.connectors.salesforce.state import ConnectorState
from journey.emulator import EmulatedOrg
from journey.engine.conditions import Evaluator
from journey.engine.config import ProjectConfig
from journey.engine.contact import ContactView
from journey.engine.contacts import ContactContext, load_views, snapshot, write_contacts
from journey.engine.store import Activity, Contact, Event, Store, open_store
from journey.engine.sync import CycleSummary, SyncRun, run_cycle
from tests.emulated_org import SEED


def _no_sleep(_seconds: float) -> None:
    return None


@dataclass
class SyncWorld:
    """An org, a store and a sync between them; ``now`` is the engine's clock."""

    org: EmulatedOrg
    store: Store
    state: ConnectorState
    config: ProjectConfig
    source: SalesforceReplication
    sf: Salesforce
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def context(self) -> ContactContext:
        fields = self.config.all_fields()
        return ContactContext(fields, Evaluator({}, fields), self.now)

    def run(self) -> SyncRun:
        return SyncRun(self.store, self.source, self.config, self.context)

    def cycle(self, *, full: bool = False) -> CycleSummary:
        return run_cycle(self.run(), full=full)

    def contact(self, salesforce_id: str) -> ContactView:
        c = Contact
        with self.store.begin() as conn:
            found = conn.execute(
                sa.select(c.c.id).where(c.c.salesforce_id == salesforce_id)
            ).scalar()
            assert found is not None, f"no contact for {salesforce_id}"
            return load_views(conn, [int(found)])[int(found)]

    def edit(self, salesforce_id: str, **values: str) -> None:
        """Change a contact in the engine, as a journey's ``update field`` does
        (``First_Name="Ann"`` is the field "First Name")."""
        view = self.contact(salesforce_id)
        before = snapshot(view)
        for name, value in values.items():
            view.set(name.replace("_", " "), value)
        with self.store.begin() as conn:
            write_contacts(conn, [(before, view)], self.context())

    def reconnect(self) -> None:
        """What ``journey salesforce renew`` does for the embedded org: a new session, the
        pause lifted."""
        self.org.renew_session()
        self.sf = self.org.client()
        clear_pause(self.state)
        old = self.source.api
        client = connect(
            Endpoint(
                self.org.endpoint.instance_url,
                self.org.endpoint.version,
                session_id=self.org.session_id,
                ca_file=self.org.endpoint.ca_file,
            ),
            hooks=[old.budget.hook],
        )
        self.source = SalesforceReplication(
            OrgApi(client, old.budget, backoff=old.backoff),
            self.state,
            bulk_threshold=self.source.bulk_threshold,
        )

    def contact_ids(self) -> list[int]:
        c = Contact
        with self.store.begin() as conn:
            return [int(i) for i in conn.execute(sa.select(c.c.id).order_by(c.c.id)).scalars()]

    def events(self, kind: str | None = None) -> list[tuple[str, int, str, str | None]]:
        ev = Event
        query = sa.select(ev.c.kind, ev.c.contact_id, ev.c.name, ev.c.value).order_by(ev.c.id)
        if kind:
            query = query.where(ev.c.kind == kind)
        with self.store.begin() as conn:
            return [(r.kind, r.contact_id, r.name, r.value) for r in conn.execute(query)]

    def clear_events(self) -> None:
        with self.store.begin() as conn:
            conn.execute(sa.delete(Event))

    def feed(self, contact_id: int) -> list[str]:
        a = Activity
        with self.store.begin() as conn:
            return list(
                conn.execute(
                    sa.select(a.c.detail).where(a.c.contact_id == contact_id).order_by(a.c.id)
                ).scalars()
            )


def make_world(
    tmp_path: Path,
    sync: dict[str, Any] | None = None,
    seed: dict[str, Any] | None = None,
    **org_kw: Any,
) -> tuple[EmulatedOrg, Callable[[], SyncWorld]]:
    url = org_kw.pop("store_url", None) or f"sqlite:///{tmp_path / 'state.db'}"
    org = EmulatedOrg(seed=copy.deepcopy(seed or SEED), **org_kw)
    served = org.start()

    def build() -> SyncWorld:
        config = ProjectConfig.model_validate(
            {
                "root": tmp_path,
                "found": True,
                "store": {"url": url},
                "sync": sync or {},
                "fields": {"Plan Tier": "Text", "Score": "Number", "Account Type": "Text"},
            }
        )
        store = open_store(url)
        state = ConnectorState(url)
        budget = ApiBudget(state, 0.5)
        client = connect(
            Endpoint(
                served.instance_url,
                served.version,
                session_id=org.session_id,
                ca_file=served.ca_file,
            ),
            hooks=[budget.hook],
        )
        api = OrgApi(client, budget, backoff=Backoff(attempts=2, sleep=_no_sleep))
        source = SalesforceReplication(api, state, bulk_threshold=config.sync.bulk_threshold)
        return SyncWorld(org, store, state, config, source, org.client())

    return org, build
