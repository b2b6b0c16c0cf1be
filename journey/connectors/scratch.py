"""The dry run's connector: the real Salesforce connector on scratch copies of everything.

Pipeline position: ``open_connector(config, dry_run=True)`` → **open_scratch** →
``SalesforceConnector`` → the transports of ``connectors.salesforce.capture``. There is one
set of Salesforce rules — the connector's — so a dry run predicts the real run by running
it where nothing it does can matter:

* the embedded org (no ``[salesforce] instance_url``): a consistent copy of
  ``.journey/emulator/org.db`` (SQLite's backup API, no lock: a worker may be serving the
  org) in a scratch folder, served in this process; a project whose org does not exist yet
  gets a scratch org made from ``[salesforce] seed``, as its first real run would;
* a configured org: the org itself for reads; every write captured, never sent;
* the connector's state (round-robin turns, API usage) copied from the project's store
  into a scratch SQLite store, so round robin continues from the stored turn and nothing
  is written back. A pause is not copied: a dry run shows what the journey would
  do once the connection works.

Bulk API 2.0 is never used in a dry run (its jobs cannot be captured one record at a
time); Collections carry the same writes. The notifier is ``CapturedNotifier``: nothing is
mailed and nothing lands in the outbox. ``ScratchParts.close`` — ``ConnectorHandle.close``
— removes the scratch folder.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from journey.connectors.salesforce.batching import OrgApi
from journey.connectors.salesforce.budget import ApiBudget
from journey.connectors.salesforce.capture import (
    CapturingAdapter,
    InProcessOrg,
)
from journey.connectors.salesforce.connection import (
    ConnectionSettingsError,
    Endpoint,
    Renewer,
    connect,
    endpoint_from_config,
)
from journey.connectors.salesforce.connector import PAUSE_KEY, SalesforceConnector
from journey.connectors.salesforce.state import ConnectorState, RecordLink
from journey.emulator import EmulatedOrg, SeedError
from journey.emulator.store import person_emails
from journey.engine.config import ProjectConfig
from journey.engine.project import store_exists
from journey.engine.store import NotificationOutbox

if TYPE_CHECKING:
    from journey.connectors.notify.captured import CapturedNotifier

__all__ = ["ScratchParts", "open_scratch"]

#: The connector's tables a dry run starts from. Not the effect journal (the real run's
#: own), nor the links: they are keyed by the store's contact IDs, and a dry run's contacts
#: are its CSV's rows, numbered from 1 — a stored link would land on the wrong person.
_COPIED = ("sf_round_robin", "sf_settings", "sf_api_calls")


@dataclass
class ScratchParts:
    connector: SalesforceConnector
    description: str
    org: EmulatedOrg | None
    state: ConnectorState
    folder: Path
    #: The configured org's captured writes (None on a scratch org, whose writes land in it).
    capture: CapturingAdapter | None = None


def open_scratch(config: ProjectConfig, embedded_dir: Path, where: str) -> ScratchParts:
    """The dry run's connector for ``config`` (module docstring). ``embedded_dir`` is the
    embedded org's folder, ``where`` how the user sees it."""
    folder = Path(tempfile.mkdtemp(prefix="journey-dry-run-"))
    org: EmulatedOrg | None = None
    state: ConnectorState | None = None
    try:
        state = scratch_state(config.store_url if store_exists(config) else None, folder)
        settings = config.salesforce
        budget = ApiBudget(state, settings.max_daily_api_share)
        capture: CapturingAdapter | None = None
        renewal: Renewer | None = None
        if settings.remote:
            remote = endpoint_from_config(settings, config.root)
            client = connect(remote, hooks=[budget.hook])
            renewal = Renewer(client, remote.authorizer) if remote.authorizer else None
            base = f"https://{client.sf_instance}"
            capture = CapturingAdapter(client.session.get_adapter(base))
            client.session.mount(base, capture)
            description = f"dry run: reading {base}; writes captured, never sent"
        else:
            org = scratch_org(config, embedded_dir, folder / "org")
            transport = InProcessOrg(org)
            endpoint = Endpoint(transport.instance_url, org.org.version, session_id=org.session_id)
            client = connect(endpoint, hooks=[budget.hook])
            client.session.mount(transport.instance_url, transport)
            description = f"dry run on a scratch copy of the embedded emulated org ({where})"
        api = OrgApi(client, budget, bulk_threshold=sys.maxsize, renewal=renewal)
        notifier = partial(_captured_notifier, config)  # made by the first notification
        # A scratch org is a file of this dry run's: it says which emails it holds.
        emails = None if org is None else partial(person_emails, folder / "org")
        connector = SalesforceConnector(
            api, state, settings, groups=config.groups, notifier=notifier, person_emails=emails
        )
    except BaseException:
        if state is not None:
            state.close()
        if org is not None:
            org.stop()
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return ScratchParts(connector, description, org, state, folder, capture)


def _captured_notifier(config: ProjectConfig) -> CapturedNotifier:
    from journey.connectors.notify import Notifier
    from journey.connectors.notify.captured import CapturedNotifier

    return CapturedNotifier(
        Notifier(config.notifications, config.state_dir / "outbox", root=config.root)
    )


def scratch_org(config: ProjectConfig, embedded_dir: Path, to: Path) -> EmulatedOrg:
    """A copy of the embedded org in ``to``; the seeded org a first run would make when
    there is none yet."""
    version = config.salesforce.api_version
    if (embedded_dir / "org.db").is_file():
        EmulatedOrg.copy_saved_state(embedded_dir, to)
        return EmulatedOrg(to, None, version=version)
    seed = config.seed_path
    try:
        return EmulatedOrg(to, seed, version=version)
    except SeedError as error:
        raise ConnectionSettingsError.of_seed(error) from None


def scratch_state(store_url: str | None, folder: Path) -> ConnectorState:
    """A migrated scratch store in ``folder`` holding the connector's rows of the store at
    ``store_url`` (none: a project where nothing has run). The project's store is only
    read."""
    url = f"sqlite:///{folder / 'state.db'}"
    # Only the connector's tables, from their models: a store thrown away after one dry
    # run needs no migration history (the models are the head schema, a test holds them).
    made = sa.create_engine(url)
    RecordLink.metadata.create_all(made)
    # The notifications' outbox is the engine's table the connector writes through.
    NotificationOutbox.metadata.create_all(made, tables=[NotificationOutbox])
    made.dispose()
    state = ConnectorState(url)
    if store_url is None:
        return state
    source = sa.create_engine(store_url)
    try:
        with source.connect() as reading:
            present = set(sa.inspect(reading).get_table_names())
            tables = sa.MetaData()
            rows = {}
            for name in _COPIED:
                if name in present:
                    table = sa.Table(name, tables, autoload_with=reading)
                    rows[name] = [dict(r._mapping) for r in reading.execute(sa.select(table))]
    finally:
        source.dispose()
    rows["sf_settings"] = [r for r in rows.get("sf_settings", []) if r["key"] != PAUSE_KEY]
    target = sa.MetaData()
    with state.engine.begin() as writing:
        for name, values in rows.items():
            if values:
                writing.execute(sa.Table(name, target, autoload_with=writing).insert(), values)
    return state
