"""``open_connector``: the one entry point that turns ``journey.toml`` into a connector.

Pipeline position: CLI → **factory** → connector → engine. It chooses the org and the
connector so that commands and tests never assemble one by hand:

* no real org configured (no ``[salesforce] auth``, ``instance_url`` or credentials):
  the embedded emulated org, started in-process on
  127.0.0.1 with its state in ``.journey/emulator/`` and seeded once from
  ``[salesforce] seed`` — the description says so, and the CLI prints it;
  one process at a time serves it (``embedded_lock``): a second one is refused with
  ``engine.locks.InUseError`` naming the holder. The lock is taken at once; the org is
  started, and the client connected, by the first call that needs them (``_Embedded``):
  a pass of local steps makes none, so it never loads the org, simple-salesforce or an
  HTTP stack. A new org is made (and seeded) at once, so a seed it cannot take is still
  refused by the command that opens it;
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
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from journey.connectors.base import Connector
from journey.connectors.salesforce.connector import SalesforceConnector, current_pause
from journey.connectors.salesforce.errors import ConnectionSettingsError
from journey.connectors.salesforce.state import ConnectorState
from journey.emulator.store import is_seeded, person_emails
from journey.engine.config import ProjectConfig
from journey.engine.config_file import embedded_org_dir
from journey.engine.locks import FileLock, InUseError, command_name, holder_words
from journey.engine.store import open_store

# The org, the client (simple-salesforce, requests, OAuth), the notifier (smtplib, email)
# and the dry run's scratch parts are imported by the code that makes them, on first use.
if TYPE_CHECKING:
    from journey.connectors.notify import Notifier
    from journey.connectors.salesforce.batching import OrgApi
    from journey.connectors.salesforce.budget import ApiUsage
    from journey.connectors.salesforce.connection import Endpoint
    from journey.emulator import EmulatedOrg

__all__ = [
    "ORG_FACTS_KEY",
    "ConnectionSettingsError",
    "ConnectorHandle",
    "connection_basics",
    "connection_status",
    "connection_summary",
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
    return embedded_org_dir(config.root)


class _Embedded:
    """The embedded org of an open connector, started by the first call that needs it
    (the client, or ``ConnectorHandle.org``); its lock is already held."""

    def __init__(self, config: ProjectConfig) -> None:
        self.config = config
        self.org: EmulatedOrg | None = None
        self.endpoint: Endpoint | None = None
        self._starting = threading.Lock()

    def make(self) -> None:
        """The org's state made and seeded, not served (``emulator.seeding``): a seed it
        cannot take is refused now, and neither the org's API nor HTTP is loaded until a
        call needs them."""
        from journey.emulator.seed import SeedError
        from journey.emulator.seeding import make_org

        config = self.config
        try:
            make_org(
                embedded_state_dir(config), config.seed_path, version=config.salesforce.api_version
            )
        except SeedError as error:
            raise ConnectionSettingsError.of_seed(error) from None

    def start(self) -> tuple[EmulatedOrg, Endpoint]:
        with self._starting:
            if self.org is None:
                self.org = _embedded_org(self.config)
            if self.endpoint is None:
                self.endpoint = _serve(self.org, self.config)
            return self.org, self.endpoint

    def stop(self) -> None:
        if self.org is not None:
            self.org.stop()
            self.org, self.endpoint = None, None


@dataclass
class ConnectorHandle:
    """An open connector and what it holds (the embedded org, the state). ``description``
    is the line the CLI prints ("using the embedded emulated org (.journey/emulator)").
    ``org`` is the embedded org; reading it starts the org if no call has yet."""

    connector: Connector
    description: str
    started_org: EmulatedOrg | None = None
    state: ConnectorState | None = None
    extras: list[Any] = field(default_factory=list)
    #: A dry run's scratch folder (its org copy, its connector state), removed on close.
    scratch: Path | None = None
    #: Held while this process serves the embedded org; released after it stops.
    lock: FileLock | None = None
    #: The embedded org, started on first use (None: a configured org, or a dry run's).
    embedded: _Embedded | None = None

    @property
    def org(self) -> EmulatedOrg | None:
        if self.embedded is not None:
            return self.embedded.start()[0]
        return self.started_org

    def close(self) -> None:
        close = getattr(self.connector, "close", None)
        if callable(close):
            close()
        if self.state is not None:
            self.state.close()
        if self.started_org is not None:
            self.started_org.stop()
            self.started_org = None
        if self.embedded is not None:
            self.embedded.stop()
            self.embedded = None
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
    lock = _lock_embedded(config)
    try:
        org, endpoint = _serve_embedded(config)
    except BaseException:
        lock.release()
        raise
    return org, endpoint, lock


def _serve_embedded(config: ProjectConfig) -> tuple[EmulatedOrg, Endpoint]:
    """The embedded org, served; the caller holds its lock."""
    org = _embedded_org(config)
    return org, _serve(org, config)


def _embedded_org(config: ProjectConfig) -> EmulatedOrg:
    """The embedded org, seeded from ``[salesforce] seed`` if it is new; not served."""
    from journey.emulator import EmulatedOrg, SeedError

    try:
        return EmulatedOrg(
            embedded_state_dir(config), config.seed_path, version=config.salesforce.api_version
        )
    except SeedError as error:
        raise ConnectionSettingsError.of_seed(error) from None


def _serve(org: EmulatedOrg, config: ProjectConfig) -> Endpoint:
    """``org`` served on 127.0.0.1; stopped if it cannot be."""
    from journey.connectors.salesforce.connection import Endpoint

    try:
        served = org.start()
    except BaseException:
        org.stop()
        raise
    return Endpoint(
        served.instance_url,
        served.version,
        session_id=served.session_id,
        ca_file=served.ca_file,
        connect_timeout=config.salesforce.connect_timeout,
        read_timeout=config.salesforce.read_timeout,
    )


def _org_api(endpoint: Endpoint, state: ConnectorState, config: ProjectConfig) -> OrgApi:
    """The client on ``endpoint``, its calls counted against the daily budget."""
    from journey.connectors.salesforce.batching import OrgApi
    from journey.connectors.salesforce.budget import ApiBudget
    from journey.connectors.salesforce.connection import Renewer, connect

    settings = config.salesforce
    budget = ApiBudget(state, settings.max_daily_api_share)
    client = connect(endpoint, hooks=[budget.hook])
    renewal = Renewer(client, endpoint.authorizer) if endpoint.authorizer else None
    return OrgApi(client, budget, bulk_threshold=settings.bulk_threshold, renewal=renewal)


def _notifier(config: ProjectConfig) -> Notifier:
    from journey.connectors.notify import Notifier

    return Notifier(config.notifications, config.state_dir / "outbox", root=config.root)


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
        from journey.connectors.scratch import ScratchParts, open_scratch

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
    embedded: _Embedded | None = None
    lock: FileLock | None = None
    state: ConnectorState | None = None
    try:
        if settings.remote:
            from journey.connectors.salesforce.connection import endpoint_from_config

            endpoint = endpoint_from_config(settings, config.root)
        else:
            lock = _lock_embedded(config)
            embedded = _Embedded(config)
            if not is_seeded(embedded_state_dir(config)):
                embedded.make()  # a new org: seeded now, so a bad seed is refused now
            description = f"using the embedded emulated org ({_where(config)})"
        state = connector_state(config.store_url)
        state.prune(datetime.now(UTC) - JOURNAL_DAYS)
        _prune_outbox(state, datetime.now(UTC) - JOURNAL_DAYS)
        api: OrgApi | Callable[[], OrgApi]
        if embedded is None:
            api = _org_api(endpoint, state, config)
            description = f"connected to https://{api.sf.sf_instance}"
        else:
            api = _connect_on_first_use(embedded, state, config)
    except BaseException:
        # Whatever stops the opening (a store that cannot be reached, Ctrl-C) gives the
        # org and its lock back: a later command in this process must not find it held.
        if state is not None:
            state.close()
        if embedded is not None:
            embedded.stop()
        if lock is not None:
            lock.release()
        raise
    # The embedded org is this process's (its lock is held): its file says which emails
    # its Leads and Contacts have, so a new contact is looked up without a call.
    emails = None if embedded is None else partial(person_emails, embedded_state_dir(config))
    connector = SalesforceConnector(
        api,
        state,
        settings,
        groups=config.groups,
        notifier=lambda: _notifier(config),
        person_emails=emails,
    )
    return ConnectorHandle(connector, description, None, state, lock=lock, embedded=embedded)


def _connect_on_first_use(
    embedded: _Embedded, state: ConnectorState, config: ProjectConfig
) -> Callable[[], OrgApi]:
    def connected() -> OrgApi:
        return _org_api(embedded.start()[1], state, config)

    return connected


def _prune_outbox(state: ConnectorState, before: datetime) -> None:
    from journey.connectors.notify import Outbox  # the table only, not the delivery stack

    Outbox(state.engine).prune(before)


def connection_status(config: ProjectConfig, now: datetime | None = None) -> dict[str, Any]:
    """The connection as last seen, without calling Salesforce: where, the pause in force,
    today's API usage (what ``journey status`` shows)."""
    from journey.connectors.salesforce.budget import api_usage

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


def connection_summary(config: ProjectConfig) -> dict[str, Any]:
    """``connection_status`` once the store exists; before, the same keys with nothing seen
    (``api`` is ``None``) — reading the connector's state would create the store."""
    from journey.engine.project import store_exists

    if store_exists(config):
        return connection_status(config)
    basics = connection_basics(config)
    if basics["embedded"]:
        basics["org"] = "the embedded emulated org"
    return {**basics, "paused": None, "api": None, "org_facts": None}


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
