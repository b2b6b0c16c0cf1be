"""``open_connector``: the one entry point that turns ``journey.toml`` into a connector.

Pipeline position: CLI → **factory** → connector → engine. It chooses the org and the
connector so that commands and tests never assemble one by hand:

* no real org configured (no ``[salesforce] auth``, ``instance_url`` or credentials):
  the embedded emulated org, started in-process on
  127.0.0.1 with its state in ``.journey/emulator/`` and seeded once from
  ``[salesforce] seed`` — the description says so, and the CLI prints it;
  one process at a time serves it (``embedded_lock``): a second one is refused with
  ``engine.locks.InUseError`` naming the holder;
* a real org (or a standalone emulator): reached as ``[salesforce] auth`` says
  (``connectors.salesforce.connection``), credentials from the environment variables the
  config names; an expired access token is renewed by the connector itself;
* ``dry_run=True``: the same Salesforce connector, on a scratch copy of the embedded org
  (or reading a configured org, its writes captured, never sent), with a scratch copy of
  the connector's state — ``connectors.scratch``.

Also here: ``connection_status`` (``journey salesforce status``, ``journey status``);
``connect``, ``renew`` and ``disconnect`` are in ``connectors.authorise``.

How a command uses it::

    with open_connector(config) as connector:   # handle.description for the user
        project = open_project(connector=connector)
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from journey.connectors.base import Connector
from journey.connectors.notify import Notifier, Outbox
from journey.connectors.salesforce.batching import OrgApi
from journey.connectors.salesforce.budget import ApiBudget, ApiUsage, api_usage
from journey.connectors.salesforce.connection import (
    ConnectionSettingsError,
    Endpoint,
    Renewer,
    connect,
    endpoint_from_config,
)
from journey.connectors.salesforce.connector import SalesforceConnector, current_pause
from journey.connectors.salesforce.state import ConnectorState
from journey.connectors.scratch import ScratchParts, open_scratch
from journey.emulator import EmulatedOrg, SeedError
from journey.engine.config import ProjectConfig
from journey.engine.locks import FileLock, InUseError, command_name, holder_words
from journey.engine.store import open_store

__all__ = [
    "ORG_FACTS_KEY",
    "ConnectionSettingsError",
    "ConnectorHandle",
    "connection_basics",
    "connection_status",
    "connector_state",
    "embedded_lock",
    "embedded_state_dir",
    "open_connector",
    "start_embedded",
]


#: The connector state's key of what connect/renew last learnt of the org (its edition).
ORG_FACTS_KEY = "org_facts"
#: The lock file of the embedded org's folder (``embedded_lock``).
ORG_LOCK_FILE = "process.lock"
#: How long the connector's journal of sent requests and the settled notification letters
#: are kept (reconcile needs hours at most).
JOURNAL_DAYS = timedelta(days=30)


def connector_state(url: str) -> ConnectorState:
    """The connector's state, in the store at ``url`` migrated first: the store's revisions
    make the connector's tables, whichever command opens the store first."""
    open_store(url).close()
    return ConnectorState(url)


def embedded_state_dir(config: ProjectConfig) -> Path:
    return config.state_dir / "emulator"


@dataclass
class ConnectorHandle:
    """An open connector and what it holds (the embedded org, the state). ``description``
    is the line the CLI prints ("using the embedded emulated org (.journey/emulator)")."""

    connector: Connector
    description: str
    org: EmulatedOrg | None = None
    state: ConnectorState | None = None
    extras: list[Any] = field(default_factory=list)
    #: A dry run's scratch folder (its org copy, its connector state), removed on close.
    scratch: Path | None = None
    #: Held while this process serves the embedded org; released after it stops.
    lock: FileLock | None = None

    def close(self) -> None:
        close = getattr(self.connector, "close", None)
        if callable(close):
            close()
        if self.state is not None:
            self.state.close()
        if self.org is not None:
            self.org.stop()
            self.org = None
        if self.lock is not None:
            self.lock.release()
            self.lock = None
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None

    def __enter__(self) -> Connector:
        return self.connector

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def embedded_lock(config: ProjectConfig) -> FileLock:
    """The lock the process serving the embedded org holds (``engine.locks``)."""
    return FileLock(embedded_state_dir(config) / ORG_LOCK_FILE)


def _lock_embedded(config: ProjectConfig) -> FileLock:
    """One process at a time serves ``.journey/emulator/``: each would hold its own record
    cache over the same file and overwrite the other's writes with a stale copy."""
    lock = embedded_lock(config)
    if lock.try_acquire(command_name()):
        return lock
    pid, command = lock.holder()
    hint = (
        "the worker already does this work: it runs the due runs and a sync cycle every "
        "[sync] every; stop it (Ctrl-C, or kill the pid) to run this command yourself"
        if command == "worker"
        else "wait for it to finish, then run this command again"
    )
    if command_name() == "worker":  # more workers need an org and a store they can share
        hint += (
            "; to run several workers, connect a real org (`journey salesforce connect`) and "
            'put the store on PostgreSQL: [store] url = "postgresql+psycopg://…" '
            "(docs/deployment.md)"
        )
    raise InUseError(
        f"the embedded org is in use by {holder_words(command)} (pid {pid or '?'}); "
        "one process at a time serves .journey/emulator",
        hint,
    )


def start_embedded(config: ProjectConfig) -> tuple[EmulatedOrg, Endpoint, FileLock]:
    seed = config.seed_path
    lock = _lock_embedded(config)
    try:
        try:
            org = EmulatedOrg(
                embedded_state_dir(config), seed, version=config.salesforce.api_version
            )
        except SeedError as error:
            raise ConnectionSettingsError(f"[salesforce] seed: {error}") from None
        served = org.start()
    except BaseException:
        lock.release()
        raise
    endpoint = Endpoint(
        served.instance_url,
        served.version,
        session_id=served.session_id,
        ca_file=served.ca_file,
        connect_timeout=config.salesforce.connect_timeout,
        read_timeout=config.salesforce.read_timeout,
    )
    return org, endpoint, lock


def _where(config: ProjectConfig) -> str:
    folder = embedded_state_dir(config)
    try:
        return str(folder.relative_to(Path.cwd()))
    except ValueError:
        return str(folder)


def open_connector(config: ProjectConfig, *, dry_run: bool = False) -> ConnectorHandle:
    """The connector ``config`` describes (module docstring). Raises
    ``ConnectionSettingsError`` with a message naming the setting when it cannot."""
    if dry_run:
        parts: ScratchParts = open_scratch(config, embedded_state_dir(config), _where(config))
        return ConnectorHandle(
            parts.connector,
            parts.description,
            parts.org,
            parts.state,
            extras=[parts.capture] if parts.capture is not None else [],
            scratch=parts.folder,
        )
    settings = config.salesforce
    org: EmulatedOrg | None = None
    lock: FileLock | None = None
    if settings.remote:
        endpoint = endpoint_from_config(settings, config.root)
    else:
        org, endpoint, lock = start_embedded(config)
        description = f"using the embedded emulated org ({_where(config)})"
    state: ConnectorState | None = None
    try:
        state = connector_state(config.store_url)
        state.prune(datetime.now(UTC) - JOURNAL_DAYS)
        Outbox(state.engine).prune(datetime.now(UTC) - JOURNAL_DAYS)
        budget = ApiBudget(state, settings.max_daily_api_share)
        client = connect(endpoint, hooks=[budget.hook])
        renewal = Renewer(client, endpoint.authorizer) if endpoint.authorizer else None
        api = OrgApi(client, budget, bulk_threshold=settings.bulk_threshold, renewal=renewal)
        if settings.remote:
            description = f"connected to https://{client.sf_instance}"
    except BaseException:
        # Whatever stops the opening (a store that cannot be reached, Ctrl-C) gives the
        # org and its lock back: a later command in this process must not find it held.
        if state is not None:
            state.close()
        if org is not None:
            org.stop()
        if lock is not None:
            lock.release()
        raise
    notifier = Notifier(config.notifications, config.state_dir / "outbox", root=config.root)
    connector = SalesforceConnector(api, state, settings, groups=config.groups, notifier=notifier)
    return ConnectorHandle(connector, description, org, state, lock=lock)


def connection_status(config: ProjectConfig, now: datetime | None = None) -> dict[str, Any]:
    """The connection as last seen, without calling Salesforce: where, the pause in force,
    today's API usage (what ``journey status`` shows)."""
    settings = config.salesforce
    state = connector_state(config.store_url)
    try:
        moment = now or datetime.now(UTC)
        usage: ApiUsage = api_usage(state, settings.max_daily_api_share, moment)
        pause = current_pause(state, moment)
        org_facts = state.get(ORG_FACTS_KEY)
    finally:
        state.close()
    basics = connection_basics(config)
    if isinstance(org_facts, dict) and org_facts.get("instance_url") and not basics["embedded"]:
        basics["org"] = org_facts["instance_url"]  # the token response's, as last seen
    return {
        **basics,
        "paused": pause,
        "api": usage.as_dict(),
        "org_facts": org_facts,
    }


def connection_basics(config: ProjectConfig) -> dict[str, Any]:
    """What ``journey.toml`` says of the connection (no store, no call)."""
    settings = config.salesforce
    embedded = not settings.remote
    return {
        "org": (
            f"embedded emulated org ({_where(config)})"
            if embedded
            else settings.instance_url or settings.effective_login_url
        ),
        "embedded": embedded,
        "auth": settings.kind or "embedded",
        "api_version": settings.api_version,
    }
