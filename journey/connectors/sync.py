"""The sync's side-effect boundary: what the engine's sync asks of an org, and nothing more.

Pipeline position: ``engine.sync`` (decides what changed, merges, settles conflicts) ->
**SyncSource** (reads and writes records) -> Salesforce (``connectors.salesforce.
replication``) or the emulated org. Like ``connectors.base`` for actions, this module is
the only part of the Salesforce side the engine imports; it never sees simple-salesforce.

Records travel as flat dicts keyed by API path (``"Email"``, ``"Owner.Name"``,
``"Account.Industry"``), values as Salesforce gives them (``None`` for blank). Each has
``Id`` and ``SystemModstamp``.

Exceptions the engine handles::

    SyncProblem
    ├── SyncPaused      the connection is unusable (session expired, API cap): stop the
    │                   cycle, keep everything for the next one
    └── SyncReadError   a read was refused (a bad mapping, a transient failure after
                        retries): the cycle stops without moving the watermark
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeAlias, runtime_checkable

__all__ = [
    "Criterion",
    "FieldInfo",
    "KnowsPersonEmails",
    "ObjectChanges",
    "ObjectRead",
    "Record",
    "RecordReader",
    "SyncPaused",
    "SyncProblem",
    "SyncReadError",
    "SyncSource",
    "WriteResult",
    "might_hold",
]

Record: TypeAlias = dict[str, Any]


class SyncProblem(Exception):  # noqa: N818 (the base of the two below)
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class SyncPaused(SyncProblem):
    """``until``: when trying again makes sense (None: only after a renew)."""

    def __init__(self, code: str, message: str, until: datetime | None = None) -> None:
        super().__init__(code, message)
        self.until = until


class SyncReadError(SyncProblem):
    pass


@dataclass(frozen=True)
class Criterion:
    """``field op values``; several values are OR-ed (``Status is "Open", "Working"``).
    ``type``: the field's type as describe reports it, when known (a checkbox, ``boolean``,
    is never empty: ``is empty`` means false)."""

    field: str
    op: str
    values: tuple[str | float | bool, ...] = ()
    type: str | None = None


@dataclass(frozen=True)
class ObjectRead:
    """What to read of one object: these fields of the records meeting ``criteria``
    (ANDed) changed at or after ``since`` (None: every record in scope)."""

    object: str
    fields: tuple[str, ...]
    criteria: tuple[Criterion, ...] = ()
    since: datetime | None = None


@dataclass
class ObjectChanges:
    """One object's answer: changed records in scope, IDs deleted (the recycle bin), and
    IDs changed that no longer meet the criteria."""

    records: list[Record] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    left_scope: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class WriteResult:
    """One record's outcome: ``ok``, else Salesforce's error code and message."""

    id: str | None
    code: str | None = None
    message: str | None = None

    @property
    def ok(self) -> bool:
        return self.id is not None and self.code is None


@dataclass(frozen=True)
class FieldInfo:
    """A field as ``describe`` reports it. ``writable``: updateable and not a formula —
    anything else syncs inbound only. ``relationship`` and ``reference_to``: a reference
    field's relationship name (``Account`` for ``AccountId``) and the objects it points to,
    so a path such as ``Account.Industry`` can be checked against the org."""

    name: str
    label: str
    type: str
    updateable: bool
    calculated: bool
    custom: bool
    relationship: str | None = None
    reference_to: tuple[str, ...] = ()

    @property
    def writable(self) -> bool:
        return self.updateable and not self.calculated


@runtime_checkable
class RecordReader(Protocol):
    """Reads named records: what the engine's link read (``engine.linking``) asks of an org
    when a contact becomes linked to a Lead or Contact. The Salesforce connector and the
    sync's source both answer it, so a runner finds it on its connector."""

    def read_records(
        self,
        sobject: str,
        fields: Sequence[str],
        *,
        ids: Sequence[str] = (),
        emails: Sequence[str] = (),
    ) -> list[Record]:
        """These ``fields`` of the ``sobject`` records with these IDs, or whose Email is
        one of ``emails`` (compared without letter case, as Salesforce does) — a Lead only
        while unconverted — oldest first; one query per 200 values. Raises ``SyncPaused``
        or ``SyncReadError``."""
        ...


@runtime_checkable
class KnowsPersonEmails(Protocol):
    """An org that can say, without a call, which emails its Leads and Contacts have (the
    embedded org, whose file is this project's): the link read then asks it only for
    the contacts it may hold (``might_hold``)."""

    def person_emails(self) -> frozenset[str] | None:
        """Every email of the org's Leads and Contacts, letter case folded (a superset
        will do); ``None`` when it cannot say (then every contact is looked up)."""
        ...


def might_hold(emails: frozenset[str] | None, salesforce_id: str | None, email: str | None) -> bool:
    """Whether a lookup by this ID or email (``engine.linking``) could find a record in an
    org whose Leads and Contacts have ``emails`` (case-folded; None: not known, so yes).
    An email is compared as SOQL compares text, without letter case."""
    if emails is None or salesforce_id:
        return True
    return email is not None and email.strip().casefold() in emails


class SyncSource(RecordReader, Protocol):
    """An org the sync can read and write."""

    def check(self) -> None:
        """Raise ``SyncPaused`` when Salesforce work is paused (no call made)."""
        ...

    def read_changes(self, reads: Sequence[ObjectRead]) -> dict[str, ObjectChanges]:
        """Changes since each read's ``since`` — for all objects together, in as few
        calls as the org allows (one when nothing changed)."""
        ...

    def count(self, reads: Sequence[ObjectRead]) -> dict[str, int]:
        """How many records each read would return (a first sync's progress, and whether
        it goes through the bulk API)."""
        ...

    def read_all(self, read: ObjectRead, expected: int) -> Iterator[list[Record]]:
        """Every record in scope, in batches (``expected``: the count, for the choice of
        API)."""
        ...

    def update(self, sobject: str, records: Sequence[Mapping[str, Any]]) -> list[WriteResult]:
        """PATCH by ``Id``, as few calls as possible; one result per record, in order."""
        ...

    def create(self, sobject: str, records: Sequence[Mapping[str, Any]]) -> list[WriteResult]: ...

    def describe(self, sobject: str, *, refresh: bool = False) -> list[FieldInfo]:
        """The object's fields, read once and kept (``refresh``: read them again, as
        ``journey salesforce fields refresh`` does)."""
        ...

    @property
    def api_calls(self) -> int:
        """API calls made so far through this source (all kinds)."""
        ...
