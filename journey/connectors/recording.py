"""The recording connector: acts like a Salesforce org would, but only writes down what it did.

Pipeline position: executor -> **recorder** (instead of Salesforce). It serves dry runs
("what would this journey do to these contacts?") and the commands that open a project
without acting on Salesforce (the engine's default when no connector is handed in). Its
answers follow the language's rules for each action (``docs/language.md``): a contact
without a record gets a Lead created, ``update salesforce field`` on a contact without a
record is skipped, ``create opportunity`` converts a Lead... so a dry run shows the records
that *would* be created or changed, with their fields.

Record IDs are derived from the idempotency key (``00Q`` + hash for a Lead, ...), so the
same dry run always prints the same IDs and a snapshot test can hold them.

With ``journal=PATH`` every applied request is appended to a SQLite file of its own, in its
own transaction, *before* ``perform`` returns. That journal is outside the engine's store:
the crash test counts applications per key there, and ``reconcile`` answers from it. No
uniqueness is enforced on purpose — an engine that applied a key twice must show up as two
rows, not be silently forgiven.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

from journey.connectors.base import (
    ContactChanges,
    ContactSnapshot,
    EffectRequest,
    EffectResult,
    EffectStatus,
    Reconciled,
    RecordChange,
    result_from_json,
    result_to_json,
)
from journey.dsl.syntax import (
    Action,
    AddTask,
    AddToList,
    AssignLead,
    AssignLeadToGroup,
    CreateOpportunity,
    RemoveFromList,
    SendNotification,
    SetMemberStatus,
    UpdateField,
    UpdateSalesforceField,
)
from journey.vocabulary import NOT_PROVIDED, SALESFORCE_LISTS

__all__ = ["SALESFORCE_LISTS", "RecordingConnector"]


_PREFIX = {
    "Lead": "00Q",
    "Contact": "003",
    "Account": "001",
    "Opportunity": "006",
    "Task": "00T",
    "CampaignMember": "00v",
    "Email": "em0",
}


def _fake_id(obj: str, key: str) -> str:
    digest = hashlib.sha256(f"{obj}:{key}".encode()).hexdigest()[:12].upper()
    return f"{_PREFIX.get(obj, 'a00')}{digest}"


def _text(value: object) -> str:
    return "" if value is None else str(value)


class RecordingConnector:
    """A connector that records instead of calling Salesforce (see the module docstring).

    ``groups`` are the round-robin groups of ``journey.toml``; the user with the least
    recent assignment goes next, as the Salesforce connector does. ``journal``: the
    durable record (module docstring); without one, results are kept in ``log`` unless
    ``keep_log`` is False (a dry run has them in its report already).
    """

    name = "recording"

    def __init__(
        self,
        groups: Mapping[str, Sequence[str]] | None = None,
        journal: Path | None = None,
        keep_log: bool = True,
    ) -> None:
        self._groups = {k.casefold(): list(v) for k, v in (groups or {}).items()}
        self._last_assigned: dict[str, int] = {}
        self._assignments = 0
        self.log: list[tuple[Action, EffectResult]] = []
        self._keep_log = keep_log
        self._journal: sqlite3.Connection | None = None
        if journal is not None:
            journal.parent.mkdir(parents=True, exist_ok=True)
            self._journal = sqlite3.connect(journal, isolation_level=None, timeout=30)
            self._journal.execute("PRAGMA journal_mode=WAL")
            self._journal.execute(
                "CREATE TABLE IF NOT EXISTS applied (key TEXT NOT NULL, action TEXT NOT NULL,"
                " result TEXT NOT NULL)"
            )
            self._journal.execute("CREATE INDEX IF NOT EXISTS applied_key ON applied(key)")

    # ------------------------------------------------------------------ interface

    def perform(self, action: Action, requests: Sequence[EffectRequest]) -> list[EffectResult]:
        results = [self._one(action, request) for request in requests]
        if self._journal is not None:
            rows = [(r.key, type(action).__name__, result_to_json(r)) for r in results]
            with self._journal:  # its own transaction, committed before we return
                self._journal.execute("BEGIN IMMEDIATE")
                self._journal.executemany("INSERT INTO applied VALUES (?, ?, ?)", rows)
        elif self._keep_log:  # without a journal, memory is the record (tests)
            self.log.extend((action, r) for r in results)
        return results

    def reconcile(self, action: Action, requests: Sequence[EffectRequest]) -> list[Reconciled]:
        answers: list[Reconciled] = []
        for request in requests:
            row = None
            if self._journal is not None:
                row = self._journal.execute(
                    "SELECT result FROM applied WHERE key = ? LIMIT 1", (request.key,)
                ).fetchone()
            if row is None:
                answers.append(Reconciled(request.key, applied=False))
            else:
                answers.append(
                    Reconciled(request.key, applied=True, result=result_from_json(row[0]))
                )
        return answers

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None

    def applications(self) -> dict[str, int]:
        """How many times each key was applied (from the journal): the crash test's proof."""
        if self._journal is None:
            counts: dict[str, int] = {}
            for _, result in self.log:
                counts[result.key] = counts.get(result.key, 0) + 1
            return counts
        rows = self._journal.execute("SELECT key, COUNT(*) FROM applied GROUP BY key")
        return {str(k): int(n) for k, n in rows}

    # ------------------------------------------------------------------ the org's rules

    def _one(self, action: Action, request: EffectRequest) -> EffectResult:
        c, p, key = request.contact, request.params, request.key
        match action:
            case AddToList() | RemoveFromList() | UpdateField():
                # Local actions never reach a connector except the Salesforce lists.
                record_type = SALESFORCE_LISTS.get(_text(p.get("list")).casefold())
                if record_type is None:
                    return EffectResult(key, "skipped", why="not a Salesforce list")
                if c.salesforce_id:
                    return EffectResult(
                        key, "skipped", why=f"already a Salesforce {c.salesforce_type}"
                    )
                return self._create(record_type, c, key)
            case AssignLead() | AssignLeadToGroup():
                return self._assign(action, c, p, key)
            case AddTask():
                base = self._ensure(c, key)
                owner = (
                    _text(p.get("assigned_to"))
                    or (c.owner_email or c.owner_id or "")
                    or "connected user"
                )
                fields = {"Subject": _text(p.get("subject")), "WhoId": base.sf_id, "OwnerId": owner}
                if p.get("due_date"):
                    fields["ActivityDate"] = _text(p["due_date"])
                if p.get("priority"):
                    fields["Priority"] = _text(p["priority"])
                task = RecordChange("Task", _fake_id("Task", key), "create", fields)
                return base.result(key, task)
            case SetMemberStatus():
                base = self._ensure(c, key)
                fields = {
                    "CampaignId": _text(p.get("campaign")),
                    "Status": _text(p.get("status")),
                    "LeadOrContactId": base.sf_id,
                }
                member = RecordChange(
                    "CampaignMember", _fake_id("CampaignMember", key), "create", fields
                )
                return base.result(key, member)
            case CreateOpportunity():
                return self._opportunity(c, p, key)
            case UpdateSalesforceField():
                if not c.salesforce_id:
                    return EffectResult(key, "skipped", why="the contact has no Salesforce record")
                field_name, value = _text(p.get("field")), _text(p.get("value"))
                change = RecordChange(
                    c.salesforce_type or "Lead", c.salesforce_id, "update", {field_name: value}
                )
                return EffectResult(
                    key,
                    "done",
                    changes=ContactChanges(fields={field_name: value}),
                    records=(change,),
                )
            case SendNotification():
                to = [_text(p.get("to"))]
                if p.get("also_to_lead_owner") and c.owner_email:
                    to.append(c.owner_email)
                mail = RecordChange(
                    "Email",
                    _fake_id("Email", key),
                    "send",
                    {"To": ", ".join(to), "Subject": _text(p.get("subject"))},
                )
                return EffectResult(key, "done", records=(mail,))

    def _create(self, record_type: str, c: ContactSnapshot, key: str) -> EffectResult:
        sf_id = _fake_id(record_type, key)
        fields = {k: v for k, v in c.fields.items() if k in ("First Name", "Last Name", "Email")}
        fields["Company"] = c.fields.get("Company", NOT_PROVIDED)
        kind: Literal["Lead", "Contact"] = "Contact" if record_type == "Contact" else "Lead"
        return EffectResult(
            key,
            "done",
            changes=ContactChanges(salesforce_id=sf_id, salesforce_type=kind),
            records=(RecordChange(record_type, sf_id, "create", fields),),
        )

    def _ensure(self, c: ContactSnapshot, key: str) -> _Base:
        if c.salesforce_id:
            return _Base(c.salesforce_id, c.salesforce_type or "Lead", None)
        created = self._create("Lead", c, key)
        return _Base(created.records[0].id, "Lead", created)

    def _assign(
        self,
        action: AssignLead | AssignLeadToGroup,
        c: ContactSnapshot,
        p: Mapping[str, object],
        key: str,
    ) -> EffectResult:
        base = self._ensure(c, key)
        fields: dict[str, str] = {}
        has_owner = bool(c.owner_id or c.owner_email or c.fields.get("Lead Owner"))
        owner: str | None = None
        if not (action.keep_current and has_owner):
            if isinstance(action, AssignLeadToGroup):
                users = self._groups.get(action.group.casefold())
                if not users:
                    return EffectResult(
                        key,
                        "failed",
                        error_code="UNKNOWN_GROUP",
                        message=f'group "{action.group}" is not in journey.toml',
                    )
                owner = min(users, key=lambda u: (self._last_assigned.get(u, -1), users.index(u)))
                self._assignments += 1
                self._last_assigned[owner] = self._assignments
            else:
                owner = _text(p.get("user"))
            fields["OwnerId"] = owner
        if p.get("lead_source"):
            fields["LeadSource"] = _text(p["lead_source"])
        if p.get("lead_status"):
            fields["Status"] = _text(p["lead_status"])
        contact_fields: dict[str, str] = {}
        if p.get("lead_source"):
            contact_fields["Lead Source"] = _text(p["lead_source"])
        if p.get("lead_status"):
            contact_fields["Lead Status"] = _text(p["lead_status"])
        if owner:
            contact_fields["Lead Owner"] = owner
        changes = ContactChanges(
            owner_email=owner if owner and "@" in owner else None, fields=contact_fields
        )
        if not fields:
            return base.result(key, None, ContactChanges(), why="kept the current owner")
        return base.result(key, RecordChange(base.sf_type, base.sf_id, "update", fields), changes)

    def _opportunity(self, c: ContactSnapshot, p: Mapping[str, object], key: str) -> EffectResult:
        base = self._ensure(c, key)
        records: list[RecordChange] = []
        opp_fields = {"Name": _text(p.get("name"))}
        if p.get("stage"):
            opp_fields["StageName"] = _text(p["stage"])
        if p.get("amount"):
            opp_fields["Amount"] = _text(p["amount"])
        if p.get("close_date"):
            opp_fields["CloseDate"] = _text(p["close_date"])
        changes = ContactChanges()
        if base.sf_type == "Lead":
            contact_id = _fake_id("Contact", key)
            account_id = _fake_id("Account", key)
            records.append(
                RecordChange("Lead", base.sf_id, "convert", {"ConvertedContactId": contact_id})
            )
            records.append(
                RecordChange(
                    "Account",
                    account_id,
                    "create",
                    {"Name": c.fields.get("Company", NOT_PROVIDED)},
                )
            )
            records.append(RecordChange("Contact", contact_id, "create", {"AccountId": account_id}))
            opp_fields["AccountId"] = account_id
            changes = ContactChanges(
                salesforce_id=contact_id,
                salesforce_type="Contact",
                fields={"Lead Status": "Closed - Converted"},
            )
        records.append(
            RecordChange("Opportunity", _fake_id("Opportunity", key), "create", opp_fields)
        )
        return base.result(key, tuple(records), changes)


class _Base:
    """The record an action lands on, and the Lead created for it when there was none."""

    def __init__(self, sf_id: str, sf_type: str, created: EffectResult | None) -> None:
        self.sf_id, self.sf_type, self.created = sf_id, sf_type, created

    def result(
        self,
        key: str,
        records: RecordChange | tuple[RecordChange, ...] | None,
        changes: ContactChanges | None = None,
        why: str | None = None,
    ) -> EffectResult:
        extra = () if records is None else records if isinstance(records, tuple) else (records,)
        all_records = (self.created.records if self.created else ()) + extra
        merged = changes or ContactChanges()
        if self.created is not None:
            merged = ContactChanges(
                salesforce_id=merged.salesforce_id or self.created.changes.salesforce_id,
                salesforce_type=merged.salesforce_type or self.created.changes.salesforce_type,
                owner_id=merged.owner_id,
                owner_name=merged.owner_name,
                owner_email=merged.owner_email,
                fields=merged.fields,
            )
        status: EffectStatus = "skipped" if why and not all_records else "done"
        return EffectResult(key, status, why=why, changes=merged, records=all_records)
