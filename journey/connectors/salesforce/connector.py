"""The Salesforce connector: the ``Connector`` the engine calls to act on a real (or the
emulated) org through simple-salesforce.

Pipeline position: executor → runner → **SalesforceConnector.perform(action, requests)** →
one action module (``assignment``, ``activities``, ``conversion``, ``fields``, or the
record creation of ``records``) → ``batching`` → the org. One ``perform`` serves a whole
batch of contacts with as few API calls as Salesforce allows.

Around every batch:

* a pause in force (session expired, allocation or cap spent — kept in the store so every
  process sees it) answers ``paused`` at once, without a call;
* the keys are journaled as *sent* before the first call, and the final outcomes after;
  ``reconcile`` answers from that journal and, for requests a crash caught in flight,
  looks in the org for what they created (module ``reconcile``). A write still in doubt
  when its call's tries were spent is journaled ``ANSWER_LOST``: the contact's next
  attempt of that step looks for what it made first (``reconcile.settle``), then closes
  that entry;
* a ``PausedError`` anywhere stops the batch: the rest is ``paused`` and the pause stored.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar, cast

from journey.connectors.base import (
    EffectRequest,
    EffectResult,
    Reconciled,
    RecordChange,
    result_to_json,
)
from journey.connectors.salesforce.errors import (
    ANSWER_LOST,
    CallRefusedError,
    PausedError,
    SalesforceProblem,
    TransientError,
)
from journey.connectors.salesforce.state import ConnectorState
from journey.connectors.sync import FieldInfo, Record, SyncSource
from journey.dsl.syntax import (
    Action,
    AddTask,
    AddToList,
    AssignLead,
    AssignLeadToGroup,
    CreateOpportunity,
    SendNotification,
    SetMemberStatus,
    UpdateSalesforceField,
)
from journey.engine.config import SalesforceConfig
from journey.vocabulary import list_record_type

# The action modules, the client and the notifier reach simple-salesforce, requests and the
# mail stack: each is imported by the first call that needs it (``perform``, ``reconcile``),
# so a connector that a pass of local steps never calls costs none of them.
if TYPE_CHECKING:
    from journey.connectors.notify import Notifier
    from journey.connectors.salesforce.batching import OrgApi
    from journey.connectors.salesforce.records import Item, Workspace

__all__ = ["PAUSE_KEY", "Pause", "SalesforceConnector", "clear_pause", "current_pause"]

_T = TypeVar("_T")


def _given(value: _T) -> Callable[[], _T]:
    """A maker of a value already made."""
    return lambda: value


PAUSE_KEY = "pause"
#: After a 403 REQUEST_LIMIT_EXCEEDED: when to look again.
LIMIT_PAUSE = timedelta(minutes=30)

Pause = dict[str, Any]


def current_pause(state: ConnectorState, now: datetime) -> Pause | None:
    """The pause in force at ``now``: ``{"code", "message", "since", "until"}``."""
    pause: Pause | None = state.get(PAUSE_KEY)
    if not pause:
        return None
    until = pause.get("until")
    if until and datetime.fromisoformat(until) <= now:
        return None
    return pause


def clear_pause(state: ConnectorState, lapsed: Pause | None = None) -> None:
    """Lift the pause; ``lapsed``: only if it is still that one — another worker may have
    paused anew since it was read."""
    if lapsed is None:
        state.put(PAUSE_KEY, None)
    else:
        state.remove_if(PAUSE_KEY, lapsed)


class SalesforceConnector:
    """See the module docstring. ``clock`` is used for pauses, dates and the journal.

    ``api`` may be a function that makes the client (``connectors.factory``: it starts the
    embedded org and connects), and ``notifier`` one that makes the notifier: each is
    called once, by the first use of ``self.api`` or ``self.notifier``."""

    name = "salesforce"

    def __init__(
        self,
        api: OrgApi | Callable[[], OrgApi],
        state: ConnectorState,
        settings: SalesforceConfig,
        *,
        groups: Mapping[str, Sequence[str]] | None = None,
        notifier: Notifier | Callable[[], Notifier] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        person_emails: Callable[[], frozenset[str] | None] | None = None,
    ) -> None:
        self._person_emails = person_emails
        self._make_api = api if callable(api) else _given(api)
        self._make_notifier = notifier if callable(notifier) else _given(notifier)
        self.state, self.settings = state, settings
        self.groups = dict(groups or {})
        self.clock = clock
        self.cache: dict[str, Any] = {}

    @functools.cached_property
    def api(self) -> OrgApi:
        """The client on the org, made on first use."""
        return self._make_api()

    @functools.cached_property
    def notifier(self) -> Notifier | None:
        return self._make_notifier()

    @property
    def connected(self) -> bool:
        """Whether the client is made (a connector never called has none to close)."""
        return self._made_api() is not None

    def _made_api(self) -> OrgApi | None:
        """The client if a call has made it: one not made yet has no figures to save or
        forget."""
        return cast("OrgApi | None", self.__dict__.get("api"))

    def workspace(self) -> Workspace:
        from journey.connectors.salesforce.records import Workspace

        return Workspace(
            self.api,
            self.state,
            self.settings.default_company,
            self.settings.assignment_rules_on_update,
            self.clock(),
            self.groups,
            self.cache,
        )

    # ---- the interface --------------------------------------------------------------------
    def perform(self, action: Action, requests: Sequence[EffectRequest]) -> list[EffectResult]:
        from journey.connectors.salesforce.records import Item

        items = [Item(r) for r in requests]
        if not items:
            return []
        now = self.clock()
        pause = current_pause(self.state, now)
        kept = self.state.get(PAUSE_KEY) if pause is None else None
        if kept:
            # A timed pause has lapsed: lift it, and let the next call read fresh figures.
            clear_pause(self.state, kept)
            if (api := self._made_api()) is not None:
                api.budget.forget()
        if pause is not None:
            for item in items:
                item.finish("paused", code=pause["code"], message=pause["message"])
            return [i.result for i in items if i.result is not None]
        kind = type(action).__name__
        doubts = self.state.in_doubt(
            [r.contact.id for r in requests], kind, ANSWER_LOST, [r.key for r in requests]
        )
        self.state.mark_sent([(r.key, r.contact.id, kind) for r in requests], now)
        try:
            if doubts:
                self._settle_doubts(action, items, doubts)
            live = [i for i in items if i.live]
            if live:
                self._dispatch(action, live)
        except PausedError as problem:
            self._pause(problem, now)
            for item in items:
                item.finish("paused", code=problem.code, message=problem.message)
        except TransientError as problem:
            for item in items:
                item.finish("retry", code=problem.code, message=problem.message)
        except CallRefusedError as problem:
            # A whole call refused (a read the org rejects, a SOAP fault): the contacts
            # still waiting fail with Salesforce's code; those already settled keep theirs.
            for item in items:
                item.finish("failed", code=problem.code, message=f"Salesforce refused: {problem}")
        finally:
            if (api := self._made_api()) is not None:
                api.budget.save()
        results = [i.result for i in items if i.result is not None]
        assert len(results) == len(items)
        # Every outcome is final for its key (a retry takes a new key); one that says
        # ANSWER_LOST marks the write still in doubt, so the next attempt looks first.
        self.state.record_results({r.key: result_to_json(r) for r in results})
        return results

    def _settle_doubts(
        self, action: Action, items: Sequence[Item], doubts: Mapping[int, tuple[str, datetime]]
    ) -> None:
        """Contacts whose earlier attempt of this step lost its answer: what it made is
        looked for (``reconcile.settle``) before anything is sent, and the earlier entry
        closed either way."""
        from journey.connectors.salesforce.reconcile import settle

        doubtful = [(i.request, doubts[i.contact.id][1]) for i in items if i.contact.id in doubts]
        found = settle(self.workspace(), action, doubtful)
        for item in items:
            if item.request.key in found:
                item.result = found[item.request.key]
        looked = EffectResult("", "retry", message="looked for by the next attempt")
        self.state.record_results(
            {key: result_to_json(replace(looked, key=key)) for key, _ in doubts.values()}
        )

    def reconcile(self, action: Action, requests: Sequence[EffectRequest]) -> list[Reconciled]:
        from journey.connectors.salesforce.reconcile import reconcile_requests

        try:
            return reconcile_requests(self.workspace(), action, requests)
        except PausedError as problem:
            self._pause(problem, self.clock())
            return [Reconciled(r.key, applied=False) for r in requests]
        except SalesforceProblem:
            # Unknown stays unknown: the perform that follows meets the same problem and
            # reports it per contact.
            return [Reconciled(r.key, applied=False) for r in requests]
        finally:
            if (api := self._made_api()) is not None:
                api.budget.save()

    def read_records(
        self,
        sobject: str,
        fields: Sequence[str],
        *,
        ids: Sequence[str] = (),
        emails: Sequence[str] = (),
    ) -> list[Record]:
        """``connectors.sync.RecordReader``, for the engine's link read: the sync source's
        read, over this connector's client, budget and pause."""
        return self._replication().read_records(sobject, fields, ids=ids, emails=emails)

    def person_emails(self) -> frozenset[str] | None:
        """``connectors.sync.KnowsPersonEmails``: what ``person_emails`` (given by the
        factory for the embedded org, whose file it reads) says; None for any other org."""
        return self._person_emails() if self._person_emails is not None else None

    def describe(self, sobject: str, *, refresh: bool = False) -> list[FieldInfo]:
        """The sync source's kept describe (``connectors.salesforce.describe``), so the
        link read can say which mapped field the org lacks."""
        return self._replication().describe(sobject, refresh=refresh)

    def _replication(self) -> SyncSource:
        # replication builds on this module (the pause), so it is imported here.
        from journey.connectors.salesforce.replication import replication_for

        if "replication" not in self.cache:
            self.cache["replication"] = replication_for(self)
        source: SyncSource = self.cache["replication"]
        return source

    def close(self) -> None:
        self.state.close()

    # ---- dispatch -------------------------------------------------------------------------
    def _dispatch(self, action: Action, items: list[Item]) -> None:
        from journey.connectors.salesforce.activities import add_tasks, set_member_status
        from journey.connectors.salesforce.assignment import assign
        from journey.connectors.salesforce.conversion import create_opportunities
        from journey.connectors.salesforce.fields import update_fields
        from journey.connectors.salesforce.records import ensure_records

        ws = self.workspace()
        match action:
            case AddToList():
                kind = list_record_type(action.list_name)
                if kind is None:
                    for item in items:
                        item.finish("skipped", why="not a Salesforce list")
                    return
                for item in items:
                    if item.contact.salesforce_id:
                        item.finish(
                            "skipped", why=f"already a Salesforce {item.contact.salesforce_type}"
                        )
                ensure_records(ws, items, "Lead" if kind == "Lead" else "Contact")
                self._learn_owners(ws, items)
            case AssignLead() | AssignLeadToGroup():
                assign(ws, action, items)
            case AddTask():
                add_tasks(ws, action, items)
            case SetMemberStatus():
                set_member_status(ws, action, items)
            case CreateOpportunity():
                create_opportunities(ws, action, items)
            case UpdateSalesforceField():
                update_fields(ws, action, items)
            case SendNotification():
                self._notify(ws, action, items)
            case _:
                for item in items:
                    item.finish("skipped", why="not a Salesforce action")
        for item in items:
            item.finish("done")

    def _learn_owners(self, ws: Workspace, items: Sequence[Item]) -> None:
        """A new record's owner is whatever the org's rules chose: read it back, so the
        contact's Lead Owner shows it."""
        from journey.connectors.salesforce.records import read_owners

        fresh = [i for i in items if i.live and i.records]
        if not fresh:
            return
        owners = read_owners(ws, fresh)
        for item in fresh:
            item.owner = owners.get(str(item.record_id))
            if item.owner is not None and item.records:
                first = item.records[0]
                item.records[0] = RecordChange(
                    first.object,
                    first.id,
                    first.operation,
                    {**first.fields, "OwnerId": item.owner.id},
                )

    def _notify(self, ws: Workspace, action: SendNotification, items: Sequence[Item]) -> None:
        from journey.connectors.salesforce.notifications import send_notifications

        send_notifications(ws, self.notifier, action, items)

    def _pause(self, problem: PausedError, now: datetime) -> None:
        until = problem.until
        if until is None and problem.code == "REQUEST_LIMIT_EXCEEDED":
            until = now + LIMIT_PAUSE
        self.state.put(
            PAUSE_KEY,
            {
                "code": problem.code,
                "message": problem.message,
                "since": now.isoformat(),
                "until": until.isoformat() if until else None,
            },
        )
