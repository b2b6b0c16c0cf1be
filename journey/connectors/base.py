"""The connector interface: the one door through which journeys touch the outside world.

Pipeline position: executor (decides) -> **connector** (acts) -> Salesforce / emulator /
journal / SMTP. The engine hands a connector one action (a ``dsl.syntax`` node) and a
*batch* of requests — one per contact that reached that step — so a Salesforce connector
can serve many contacts with one composite call. It gets back one ``EffectResult`` per
request, in the same order.

Two rules make crash safety possible:

* every request carries an idempotency key that the engine committed *before* calling
  ``perform``; a connector that can remember keys (the journaling connector's, a Salesforce
  external-ID field) should;
* after a crash the engine never repeats a request blindly: it asks ``reconcile`` whether
  each pending key was applied. ``applied`` results are taken as the outcome; the rest are
  performed.

Connectors know Salesforce, never the executor; the engine knows this module, never
simple-salesforce.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeAlias, runtime_checkable

from journey.dsl.syntax import Action

__all__ = [
    "Connector",
    "ContactChanges",
    "ContactSnapshot",
    "EffectRequest",
    "EffectResult",
    "EffectStatus",
    "Reconciled",
    "RecordChange",
]

#: ``done``: applied. ``skipped``: nothing to do, deliberately (``why`` says why; the run
#: goes on). ``failed``: the outside world refused (``error_code`` + ``message``, naming the
#: record); the run stops at the step, counted as failed. ``retry``: a transient problem
#: for this request (rate limit, lock); the run tries again later. ``paused``: the
#: connection itself is unusable (session expired, org unreachable): nothing failed and
#: nothing is lost — the engine stops the pass and retries the same requests later.
EffectStatus: TypeAlias = Literal["done", "skipped", "failed", "retry", "paused"]


@dataclass(frozen=True)
class ContactSnapshot:
    """What a connector may know about a contact when acting on it. ``fields`` holds every
    non-empty field by its display name ("First Name", "Lead Owner", ...)."""

    id: int
    email: str | None
    fields: Mapping[str, str]
    salesforce_id: str | None = None
    salesforce_type: Literal["Lead", "Contact"] | None = None
    lists: frozenset[str] = frozenset()
    owner_id: str | None = None
    owner_email: str | None = None


@dataclass(frozen=True)
class EffectRequest:
    """One contact's share of an action. ``params`` are the action's parameters with
    ``{{Field}}`` placeholders already rendered for this contact."""

    key: str
    contact: ContactSnapshot
    params: Mapping[str, str | int | bool | None]


@dataclass(frozen=True)
class RecordChange:
    """A record the connector created or changed, for the activity feed and dry runs."""

    object: str
    id: str
    operation: Literal["create", "update", "convert", "send"]
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ContactChanges:
    """What the engine should write back onto the contact after an effect: a new
    Salesforce record, a new owner, changed fields. ``None``/empty means unchanged."""

    salesforce_id: str | None = None
    salesforce_type: Literal["Lead", "Contact"] | None = None
    owner_id: str | None = None
    owner_name: str | None = None
    owner_email: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return (
            self.salesforce_id is None
            and self.salesforce_type is None
            and self.owner_id is None
            and self.owner_name is None
            and self.owner_email is None
            and not self.fields
        )


@dataclass(frozen=True)
class EffectResult:
    """The outcome of one request. ``why`` explains a skip; ``error_code``/``message``
    explain a failure (e.g. ``FIELD_CUSTOM_VALIDATION_EXCEPTION`` on ``Lead 00Q...``)."""

    key: str
    status: EffectStatus
    why: str | None = None
    error_code: str | None = None
    message: str | None = None
    changes: ContactChanges = ContactChanges()
    records: tuple[RecordChange, ...] = ()


@dataclass(frozen=True)
class Reconciled:
    """The answer to "was this key applied?" after a crash: ``result`` is the recorded
    outcome when ``applied``."""

    key: str
    applied: bool
    result: EffectResult | None = None


@runtime_checkable
class Connector(Protocol):
    """Acts on the outside world for batches of contacts. Implementations: the journal
    (``journey.connectors.recording``, which decides nothing) and the Salesforce connector
    (``journey.connectors.salesforce``), which speaks to a real org or the emulated one."""

    #: Shown in dry runs and the activity feed ("recording", "salesforce", ...).
    name: str

    def perform(self, action: Action, requests: Sequence[EffectRequest]) -> list[EffectResult]:
        """Apply ``action`` for every request; one result per request, same order."""
        ...

    def reconcile(self, action: Action, requests: Sequence[EffectRequest]) -> list[Reconciled]:
        """For requests whose outcome is unknown after a crash: was each one applied?"""
        ...


#: ``json.dumps(value, sort_keys=True)`` with one encoder for every result, not one made
#: per call (what ``dumps`` does when given an option): a batch journals thousands.
_encode = json.JSONEncoder(sort_keys=True).encode
_text = json.encoder.encode_basestring_ascii
#: The JSON of a result with nothing but its key and status, around those two.
_PLAIN = (
    '{"changes": {"fields": {}, "owner_email": null, "owner_id": null, "owner_name": null,'
    ' "salesforce_id": null, "salesforce_type": null}, "error_code": null, "key": ',
    ', "message": null, "records": [], "status": ',
    ', "why": null}',
)


def result_to_json(result: EffectResult) -> str:
    """An effect result as JSON, for effect journals (the engine's and a connector's). A
    result that says only "done" (most of a batch's) is written around its key and
    status, the same text as the encoder's, in a fifth of its time."""
    if (
        result.why is None
        and result.error_code is None
        and result.message is None
        and not result.records
        and result.changes.empty
    ):
        head, middle, tail = _PLAIN
        return f"{head}{_text(result.key)}{middle}{_text(result.status)}{tail}"
    return encoded_result(result)


def encoded_result(result: EffectResult) -> str:
    """``result_to_json`` through the JSON encoder, whatever the result holds."""
    ch = result.changes
    return _encode(
        {
            "key": result.key,
            "status": result.status,
            "why": result.why,
            "error_code": result.error_code,
            "message": result.message,
            "changes": {
                "salesforce_id": ch.salesforce_id,
                "salesforce_type": ch.salesforce_type,
                "owner_id": ch.owner_id,
                "owner_name": ch.owner_name,
                "owner_email": ch.owner_email,
                "fields": dict(ch.fields),
            },
            "records": [
                {"object": r.object, "id": r.id, "operation": r.operation, "fields": dict(r.fields)}
                for r in result.records
            ],
        }
    )


def result_from_json(text: str) -> EffectResult:
    raw = json.loads(text)
    changes = ContactChanges(**raw.pop("changes"))
    records = tuple(RecordChange(**r) for r in raw.pop("records"))
    return EffectResult(**raw, changes=changes, records=records)
