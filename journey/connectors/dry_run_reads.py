"""A dry run's reads of the embedded org, and the contacts it need not look up.

Pipeline position: ``journey dry-run`` → **dry_run_reads** → on the first read it needs,
``open_connector(config, dry_run=True)`` (``connectors.scratch``) → the org.

A journey that calls no Salesforce action but decides on what a record says
(``engine.org_reads``) needs the org only to look up the records its contacts are linked
to (``engine.linking``): by Salesforce ID, or by email. The embedded org is a file of this
project, so which emails its Leads and Contacts have can be read from it without serving
it (``emulator.store.person_emails``), or, before its first run makes it, from the seed it
will be made from (``emulator.seed.seed_emails``, a superset). A contact with no
Salesforce ID and none of those emails finds nothing; it is not looked up, and a dry run
whose contacts are all such (new leads in a CSV: the common case) never opens the org —
no scratch copy, no simple-salesforce, no HTTP — and takes the same paths it would have
taken with it. A configured org is always asked: only it knows its records.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Protocol

from journey.connectors.sync import FieldInfo, Record

if TYPE_CHECKING:
    from pathlib import Path

    from journey.connectors.factory import ConnectorHandle

__all__ = ["EmbeddedOrg", "OrgOnFirstRead", "person_emails"]


class EmbeddedOrg(Protocol):
    """What is read of a project's configuration (the whole one or ``config_view``'s)."""

    @property
    def root(self) -> Path: ...

    @property
    def seed_path(self) -> Path | None: ...


def person_emails(config: EmbeddedOrg) -> frozenset[str] | None:
    """The (case-folded) emails the embedded org's Leads and Contacts have, from its file,
    else from its seed; ``None`` when neither can say (an org not seeded yet, a seed that
    cannot be read: the org is opened, and says why)."""
    from journey.emulator.seed import SeedError, load_seed, seed_emails
    from journey.emulator.store import ORG_FILE, is_seeded
    from journey.emulator.store import person_emails as on_file
    from journey.engine.config_file import embedded_org_dir

    folder = embedded_org_dir(config.root)
    if (folder / ORG_FILE).exists():
        return on_file(folder) if is_seeded(folder) else None
    try:
        return seed_emails(load_seed(config.seed_path))
    except (SeedError, OSError):
        return None


class OrgOnFirstRead:
    """A ``RecordReader`` (and ``Describes``) that opens the dry run's connector when it
    is first asked, and closes it with itself; it says the org holds ``emails``
    (``KnowsPersonEmails``), so the dry run asks it only for the contacts it may hold."""

    def __init__(self, opener: Callable[[], ConnectorHandle], emails: frozenset[str]) -> None:
        self._opener, self._emails = opener, emails
        self._handle: ConnectorHandle | None = None

    def person_emails(self) -> frozenset[str]:
        return self._emails

    def _reader(self) -> ConnectorHandle:
        if self._handle is None:
            self._handle = self._opener()
        return self._handle

    @property
    def opened(self) -> bool:
        return self._handle is not None

    def read_records(
        self,
        sobject: str,
        fields: Sequence[str],
        *,
        ids: Sequence[str] = (),
        emails: Sequence[str] = (),
    ) -> list[Record]:
        connector = self._reader().connector
        read: list[Record] = connector.read_records(  # type: ignore[attr-defined]
            sobject, fields, ids=ids, emails=emails
        )
        return read

    def describe(self, sobject: str, *, refresh: bool = False) -> list[FieldInfo]:
        connector = self._reader().connector
        fields: list[FieldInfo] = connector.describe(sobject, refresh=refresh)  # type: ignore[attr-defined]
        return fields

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> OrgOnFirstRead:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
