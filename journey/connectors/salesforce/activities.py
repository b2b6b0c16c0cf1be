"""``add task`` and ``set member status``: activities and campaign membership.

Pipeline position: connector → **activities** → records / batching.

* A Task goes on the record (``WhoId``); its owner is the named user, else the record's
  owner (a queue cannot own a task: then the org's default, the connected user);
  ``ActivityDate`` from ``due in``; ``Priority`` as given.
* ``set member status``: the campaign (by name or ID) and the status are checked first —
  an unknown one fails every contact with an error naming it, before any record is
  created; then the CampaignMember is updated when it exists, created when not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from simple_salesforce.format import format_soql

from journey.connectors.base import RecordChange
from journey.connectors.salesforce.assignment import fail_if_inactive, find_users
from journey.connectors.salesforce.records import Item, Workspace, ensure_records, read_owners
from journey.dsl.syntax import AddTask, SetMemberStatus

__all__ = ["add_tasks", "set_member_status"]


def add_tasks(ws: Workspace, action: AddTask, items: Sequence[Item]) -> None:
    named = None
    if action.assigned_to and not action.assigned_to_lead_owner:
        found = find_users(ws, [action.assigned_to])
        named = found.get(action.assigned_to.casefold())
        if named is None:
            for item in items:
                item.finish(
                    "failed",
                    code="USER_NOT_FOUND",
                    message=f"add task: no Salesforce user is named {action.assigned_to!r}",
                )
            return
        if fail_if_inactive(ws, items, action.assigned_to, named):
            return
    ensure_records(ws, items)
    live = [i for i in items if i.live]
    owners = read_owners(ws, live) if named is None else {}
    payloads: list[dict[str, Any]] = []
    for item in live:
        task: dict[str, Any] = {"Subject": str(item.params.get("subject") or action.subject)}
        task["WhoId"] = item.record_id
        owner = named or owners.get(str(item.record_id))
        if owner is not None and owner.is_user:
            task["OwnerId"] = owner.id
        if item.params.get("due_date"):
            task["ActivityDate"] = str(item.params["due_date"])
        if item.params.get("priority"):
            task["Priority"] = str(item.params["priority"])
        payloads.append(task)
    saved = ws.api.create("Task", payloads, {})
    for item, task, outcome in zip(live, payloads, saved, strict=True):
        if outcome.ok:
            shown = {k: str(v) for k, v in task.items()}
            item.records.append(RecordChange("Task", str(outcome.id), "create", shown))
            item.finish("done")
        else:
            item.fail(outcome, f"creating a Task on {item.record_type} {item.record_id}")


def _campaign(ws: Workspace, name: str) -> tuple[str, list[str]] | None:
    """(Campaign ID, its member statuses) for a campaign named ``name`` (or its ID)."""
    key = f"campaign:{name.casefold()}"
    if key not in ws.cache:
        soql = "SELECT Id, Name FROM Campaign WHERE Name = {n}"
        if name.startswith("701") and len(name) in (15, 18):
            soql += " OR Id = {n}"
        rows = ws.api.query(format_soql(soql, n=name))
        if not rows:
            ws.cache[key] = None
        else:
            campaign_id = str(rows[0]["Id"])
            statuses = ws.api.query(
                format_soql(
                    "SELECT Label FROM CampaignMemberStatus WHERE CampaignId = {c}", c=campaign_id
                )
            )
            ws.cache[key] = (campaign_id, [str(s["Label"]) for s in statuses])
    found: tuple[str, list[str]] | None = ws.cache[key]
    return found


def set_member_status(ws: Workspace, action: SetMemberStatus, items: Sequence[Item]) -> None:
    campaign_name = str(items[0].params.get("campaign") or action.campaign) if items else ""
    status = str(items[0].params.get("status") or action.status) if items else ""
    found = _campaign(ws, campaign_name)
    if found is None:
        for item in items:
            item.finish(
                "failed",
                code="UNKNOWN_CAMPAIGN",
                message=f'set member status: the org has no campaign "{campaign_name}"',
            )
        return
    campaign_id, statuses = found
    chosen = next((s for s in statuses if s.casefold() == status.casefold()), None)
    if chosen is None:
        for item in items:
            item.finish(
                "failed",
                code="UNKNOWN_MEMBER_STATUS",
                message=f'campaign "{campaign_name}" has no member status "{status}" '
                f"(it has: {', '.join(statuses) or 'none'})",
            )
        return
    ensure_records(ws, items)
    live = [i for i in items if i.live]
    members: dict[str, tuple[str, str]] = {}  # record ID (15) → (member ID, status)
    for field, kind in (("LeadId", "Lead"), ("ContactId", "Contact")):
        ids = [str(i.record_id) for i in live if i.record_type == kind]
        if not ids:
            continue
        rows = ws.api.query_in(
            f"SELECT Id, {field}, Status FROM CampaignMember WHERE CampaignId = {{c}} "
            f"AND {field} IN {{values}}",
            ids,
            c=campaign_id,
        )
        for row in rows:
            members[str(row[field])[:15]] = (str(row["Id"]), str(row.get("Status")))
    creates: list[Item] = []
    updates: list[Item] = []
    for item in live:
        member = members.get(str(item.record_id)[:15])
        if member is None:
            creates.append(item)
        elif member[1].casefold() == chosen.casefold():
            item.finish("skipped", why=f'already "{chosen}" in campaign "{campaign_name}"')
        else:
            updates.append(item)
    if creates:
        payloads = [
            {
                "CampaignId": campaign_id,
                ("LeadId" if i.record_type == "Lead" else "ContactId"): i.record_id,
                "Status": chosen,
            }
            for i in creates
        ]
        for item, payload, outcome in zip(
            creates, payloads, ws.api.create("CampaignMember", payloads, {}), strict=True
        ):
            if outcome.ok:
                shown = {k: str(v) for k, v in payload.items()}
                item.records.append(
                    RecordChange("CampaignMember", str(outcome.id), "create", shown)
                )
                item.finish("done")
            else:
                item.fail(outcome, f"adding {item.record_type} {item.record_id} to {campaign_name}")
    if updates:
        payloads = [{"Id": members[str(i.record_id)[:15]][0], "Status": chosen} for i in updates]
        for item, payload, outcome in zip(
            updates, payloads, ws.api.update("CampaignMember", payloads, {}), strict=True
        ):
            if outcome.ok:
                item.records.append(
                    RecordChange("CampaignMember", str(payload["Id"]), "update", {"Status": chosen})
                )
                item.finish("done")
            else:
                item.fail(outcome, f"CampaignMember {payload['Id']}")
