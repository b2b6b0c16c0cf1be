"""``assign lead to "USER"`` and ``assign lead to group "G"``: owners, ``keep current
assignment``, round robin, and the ``Sforce-Auto-Assign`` header.

Pipeline position: connector → **assignment** → records / batching / state (round robin).

* The user is named by email, name or ID and looked up once (one batched SOQL query for
  all the names an action needs, values escaped); a queue's name also works.
* The Lead is the contact's own, or the one the org holds under its email (an unconverted
  Lead, else a Contact: ``records.find_records``); only a contact with none gets a new one.
  Only the fields the action names are written: the owner, and Lead Source / Status when
  given — never the contact's other values over an existing Lead's.
* ``keep current assignment``: a Lead that already has an owner keeps it and only Lead
  Source / Status (when given) are written. "Has an owner" means owned by a *user*, as the
  org says at action time (the owner is read then, however the record was found): a new
  Lead, or one waiting in a queue (``OwnerId`` a Group, ``00G``: Lead owners are users or
  queues, help.salesforce.com/s/articleView?id=000385203&type=1), is unassigned and gets
  the owner.
* Group: the users of ``[groups]`` in ``journey.toml`` take turns, least recently
  assigned first; turns are kept in ``sf_round_robin`` and taken in one write
  transaction, so concurrent workers and restarts stay fair; a request sent again after
  a crash gets the owner its first send took, not a second turn. An inactive user
  (``IsActive`` false: Salesforce refuses them as owners, ``INACTIVE_OWNER_OR_USER``)
  takes no turn, and each assigned contact's step says who was skipped; when every user
  of the group is inactive the step fails, naming them.
* An inactive user named by the journey fails the step for every contact before anything
  is written, with the code Salesforce would answer and what to do; the same answer from
  the org itself (a user deactivated since the lookup) gets the same words, and the user
  is looked up afresh next time.
* Every write here sets the owner explicitly, so it sends ``Sforce-Auto-Assign: FALSE``
  (or, for updates, the project's ``assignment_rules_on_update`` choice) — the org's
  assignment rules must not undo it.
* A Salesforce Contact is not a Lead: the action is skipped for it, with why — whether
  the contact was linked to it before or its email found it now (a Contact's ID is never
  sent as a Lead's).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from simple_salesforce.format import format_soql

from journey.connectors.base import RecordChange
from journey.connectors.salesforce.records import (
    AUTO_ASSIGN_FALSE,
    Item,
    Owner,
    Workspace,
    ensure_records,
    find_records,
    read_owners,
)
from journey.dsl.syntax import AssignLead, AssignLeadToGroup
from journey.vocabulary import is_user_id

__all__ = ["INACTIVE", "assign", "fail_if_inactive", "find_users", "is_inactive"]

#: Salesforce's code for an inactive user as owner; ours when we see it first.
INACTIVE = "INACTIVE_OWNER_OR_USER"


def find_users(ws: Workspace, names: Sequence[str]) -> dict[str, Owner]:
    """casefolded email / name / ID → the User (or queue) it names; unknown names absent.
    Cached for the connector's life (users rarely change within a pass)."""
    cache: dict[str, Owner] = ws.cache.setdefault("users", {})
    inactive: set[str] = ws.cache.setdefault("inactive_users", set())
    wanted = [n for n in dict.fromkeys(names) if n.casefold() not in cache]
    if wanted:
        ids = [n for n in wanted if is_user_id(n)]
        texts = [n for n in wanted if n not in ids]
        soql = "SELECT Id, Name, Email, IsActive FROM User WHERE Email IN {t} OR Name IN {t}"
        if ids:
            soql += " OR Id IN {i}"
        rows = ws.api.query(format_soql(soql, t=texts or [""], i=ids))
        missing = [
            n
            for n in texts
            if not any(
                n.casefold() in (str(r.get("Email")).casefold(), str(r.get("Name")).casefold())
                for r in rows
            )
        ]
        if missing:
            rows += ws.api.query(
                format_soql(
                    "SELECT Id, Name, Email FROM Group WHERE Type = 'Queue' AND "
                    "(Name IN {t} OR Email IN {t})",
                    t=missing,
                )
            )
        for row in rows:
            owner = Owner(str(row["Id"]), row.get("Name"), row.get("Email"))
            if row.get("IsActive") is False:
                inactive.add(owner.id[:15])
            for key in (row.get("Email"), row.get("Name"), row["Id"], str(row["Id"])[:15]):
                if key:
                    cache.setdefault(str(key).casefold(), owner)
    return {n.casefold(): cache[n.casefold()] for n in names if n.casefold() in cache}


def is_inactive(ws: Workspace, owner: Owner) -> bool:
    """Did the lookup (``find_users``) find this user inactive?"""
    return owner.id[:15] in ws.cache.get("inactive_users", set())


def _inactive_words(name: str, where: str = "the journey") -> str:
    return f'user "{name}" is inactive in Salesforce: reactivate them or change {where}'


def fail_if_inactive(ws: Workspace, items: Sequence[Item], name: str, owner: Owner) -> bool:
    """Fail every item when ``owner`` (named ``name`` by the journey) is inactive."""
    if not is_inactive(ws, owner):
        return False
    for item in items:
        item.finish("failed", code=INACTIVE, message=_inactive_words(name))
    return True


def _forget(ws: Workspace, owner: Owner) -> None:
    """Look the user up again next time: the org says they changed."""
    cache: dict[str, Owner] = ws.cache.get("users", {})
    for key in [k for k, v in cache.items() if v.id == owner.id]:
        del cache[key]


def _clarify_inactive(ws: Workspace, items: Sequence[Item], where: str) -> None:
    """The org's own ``INACTIVE_OWNER_OR_USER`` (a user deactivated since the lookup), in
    the same words as ours; the user is looked up afresh next time."""
    for item in items:
        result = item.result
        if result is None or result.error_code != INACTIVE or item.owner is None:
            continue
        name = item.owner.email or item.owner.name or item.owner.id
        message = f"{_inactive_words(name, where)} ({result.message})"
        item.result = replace(result, message=message)
        _forget(ws, item.owner)


def _active_members(
    ws: Workspace, group: str, users: list[str], found: dict[str, Owner], items: Sequence[Item]
) -> tuple[list[str], str | None]:
    """The group's active users, and the words saying who was skipped; every item fails
    when none is active."""
    skipped = [u for u in users if is_inactive(ws, found[u.casefold()])]
    active = [u for u in users if u not in skipped]
    if not active:
        for item in items:
            item.finish(
                "failed",
                code=INACTIVE,
                message=f'every user of group "{group}" is inactive in Salesforce ('
                + ", ".join(skipped)
                + "): reactivate one or change journey.toml [groups]",
            )
    note = (
        f'skipped the inactive users of group "{group}": ' + ", ".join(skipped) if skipped else None
    )
    return active, note


def assign(ws: Workspace, action: AssignLead | AssignLeadToGroup, items: Sequence[Item]) -> None:
    group_users: list[str] = []
    group_name = action.group if isinstance(action, AssignLeadToGroup) else ""
    if isinstance(action, AssignLeadToGroup):
        users = {k.casefold(): list(v) for k, v in ws.groups.items()}.get(action.group.casefold())
        if not users:
            for item in items:
                item.finish(
                    "failed",
                    code="UNKNOWN_GROUP",
                    message=f'group "{action.group}" is not in journey.toml [groups]',
                )
            return
        group_users = users
        wanted = users
    else:
        wanted = [action.user]
    user_name = action.user if isinstance(action, AssignLead) else ""
    found = find_users(ws, wanted)
    unknown = [u for u in wanted if u.casefold() not in found]
    if unknown:
        for item in items:
            item.finish(
                "failed",
                code="USER_NOT_FOUND",
                message="no Salesforce user or queue is named "
                + ", ".join(repr(u) for u in unknown),
            )
        return
    note = None
    if group_users:
        group_users, note = _active_members(ws, group_name, group_users, found, items)
        if not group_users:
            return
    elif fail_if_inactive(ws, items, user_name, found[user_name.casefold()]):
        return
    where = "journey.toml [groups]" if group_users else "the journey"

    def source_status(item: Item) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if item.params.get("lead_source"):
            out["LeadSource"] = str(item.params["lead_source"])
            item.fields["Lead Source"] = out["LeadSource"]
        if item.params.get("lead_status"):
            out["Status"] = str(item.params["lead_status"])
            item.fields["Lead Status"] = out["Status"]
        return out

    # Existing records first — the contact's own, or one the org holds under its email —
    # then: Contacts are skipped; with keep_current, user-owned Leads keep their owner.
    find_records(ws, items, "Lead")
    for item in items:
        if item.live and item.record_type == "Contact":
            item.finish(
                "skipped",
                why=f"{item.who()} is a Salesforce Contact ({item.record_id}); "
                "assign lead assigns Leads only",
            )
    existing = [i for i in items if i.live and i.record_id]
    keepers: list[Item] = []
    if action.keep_current and existing:
        # The owner is read from the org at action time, however the record was found:
        # whatever the contact last showed, the org's current owner is the one kept.
        owners = read_owners(ws, existing)
        for item in existing:
            owner = owners.get(str(item.record_id))
            if owner is not None and owner.is_user:
                item.owner = owner
                keepers.append(item)
    kept = set(map(id, keepers))
    needs_owner = [i for i in items if i.live and id(i) not in kept]
    if group_users:
        keys = [i.request.key for i in needs_owner]
        picks = ws.state.take_turns(group_name, group_users, len(needs_owner), keys)
    else:
        picks = [user_name] * len(needs_owner)
    for item, pick in zip(needs_owner, picks, strict=True):
        item.owner = found[pick.casefold()]

    def new_lead_fields(item: Item) -> dict[str, Any]:
        assert item.owner is not None
        return {"OwnerId": item.owner.id, **source_status(item)}

    created = {
        id(i)
        for i in ensure_records(ws, needs_owner, "Lead", extra=new_lead_fields, explicit_owner=True)
    }
    updates: list[tuple[Item, dict[str, Any]]] = []
    for item in [*keepers, *needs_owner]:
        if not item.live or id(item) in created:
            continue
        values = source_status(item)
        if id(item) not in kept:
            assert item.owner is not None
            values["OwnerId"] = item.owner.id
        if values:
            updates.append((item, values))
        else:
            item.finish("skipped", why=f"kept the current owner ({_owner_text(item.owner)})")
    if updates:
        # An explicit owner always goes with FALSE; a keep-current update follows the setting.
        explicit = [(i, v) for i, v in updates if "OwnerId" in v]
        others = [(i, v) for i, v in updates if "OwnerId" not in v]
        for batch, hdrs in ((explicit, dict(AUTO_ASSIGN_FALSE)), (others, ws.update_headers)):
            if not batch:
                continue
            saved = ws.api.update("Lead", [{"Id": i.record_id, **v} for i, v in batch], hdrs)
            for (item, values), outcome in zip(batch, saved, strict=True):
                if outcome.ok:
                    shown = {k: str(v) for k, v in values.items()}
                    item.records.append(RecordChange("Lead", str(item.record_id), "update", shown))
                else:
                    item.fail(outcome, f"Lead {item.record_id}")
    _clarify_inactive(ws, items, where)
    for item in items:
        if item.live:
            if id(item) in kept and not item.records:
                item.finish("skipped", why=f"kept the current owner ({_owner_text(item.owner)})")
            else:
                item.finish("done", why=note if id(item) not in kept else None)


def _owner_text(owner: Owner | None) -> str:
    if owner is None:
        return "unknown"
    return owner.email or owner.name or owner.id
