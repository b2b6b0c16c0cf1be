"""Inbound: Salesforce records taken into the store — merged, de-duplicated, converted,
deleted.

Pipeline position: the cycle reads changes through ``connectors.sync`` -> **inbound**
-> ``engine.contacts.write_contacts`` (so a sync change has every consequence a journey's
change has: ``field changed`` events, list events, segments, woken runs).

The merge is three-way, per field: the record's *shadow* (its values at the last cycle)
is the common ancestor. Salesforce changed a field when its value differs from the shadow;
the engine changed it when the contact's value does. Only Salesforce changed: the contact
takes the value. Both changed to different values (a conflict): the mapping's direction
decides — ``salesforce wins``, ``engine wins``, or ``latest wins`` (the engine's change
time against Salesforce's ``LastModifiedDate``). The shadow then becomes Salesforce's
values; whatever the engine keeps that differs from it is written out by ``outbound``.
Our own writes update the shadow, so reading them back changes nothing: no echo.

Identity: a record is keyed by its Salesforce ID; a record first seen merges into the
contact with that ID (one the actions connector created), else into a contact from
another source with the same email, else becomes a new contact. Two Salesforce records
with one email stay two contacts (``possible_duplicates`` reports them).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journey.connectors.sync import Record
from journey.engine.contact import ContactView
from journey.engine.contacts import (
    ContactContext,
    FieldValueError,
    coerce,
    load_views,
    mark_sync_pending,
    new_contacts,
    snapshot,
    wake_runs,
    write_contacts,
)
from journey.engine.store import (
    Activity,
    CampaignStatus,
    Company,
    Contact,
    Event,
    FieldValue,
    Membership,
    Run,
    SegmentMember,
    SyncError,
    SyncPending,
    table,
)
from journey.engine.sync.mapping import ACCOUNT_FIELDS, FieldMap, engine_text, from_salesforce
from journey.engine.sync.outbound import set_error_list
from journey.engine.sync.records import (
    Linked,
    forget_records,
    load_records,
    record_error,
    save_records,
)

__all__ = [
    "CONTACTS_LIST",
    "LEADS_LIST",
    "Taken",
    "possible_duplicates",
    "remove_records",
    "salesforce_time",
    "take_accounts",
    "take_members",
    "take_people",
]

LEADS_LIST = "Salesforce Leads"
CONTACTS_LIST = "Salesforce Contacts"
_LIST_OF = {"Lead": LEADS_LIST, "Contact": CONTACTS_LIST}


@dataclass
class Taken:
    """What one batch did: records that changed something, conflicts settled, failures."""

    changed: int = 0
    conflicts: int = 0
    failed: int = 0
    removed: int = 0
    notes: list[str] = field(default_factory=list)


def _id18(value: Any) -> str:
    return str(value or "")


def salesforce_time(text: Any) -> datetime | None:
    """A Salesforce date-time (``2026-03-02T09:00:00.000+0000`` or ``...Z``), or None when
    absent or unreadable."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


def _match_contacts(conn: Connection, records: Sequence[Record]) -> dict[str, int]:
    """Record ID -> an existing contact: the one holding that Salesforce ID, else one from
    another source (no Salesforce ID) with the same email."""
    c = table(Contact)
    ids = [str(r["Id"]) for r in records]
    out: dict[str, int] = {}
    by_short = {i[:15]: i for i in ids}
    for start in range(0, len(ids), 400):
        chunk = ids[start : start + 400]
        wanted = chunk + [i[:15] for i in chunk]
        for row in conn.execute(
            sa.select(c.c.id, c.c.salesforce_id).where(c.c.salesforce_id.in_(wanted))
        ):
            full = by_short.get(str(row.salesforce_id)[:15])
            if full is not None:
                out.setdefault(full, int(row.id))
    emails = {
        str(r["Email"]).strip().casefold(): str(r["Id"])
        for r in records
        if r.get("Email") and str(r["Id"]) not in out
    }
    keys = list(emails)
    claimed: set[int] = set()
    for start in range(0, len(keys), 400):
        for row in conn.execute(
            sa.select(c.c.id, c.c.email_key)
            .where(c.c.email_key.in_(keys[start : start + 400]), c.c.salesforce_id.is_(None))
            .order_by(c.c.id)
        ):
            if row.email_key in emails and int(row.id) not in claimed:
                record_id = emails.pop(row.email_key)
                out[record_id] = int(row.id)
                claimed.add(int(row.id))
    return out


def take_people(
    conn: Connection,
    sobject: Literal["Lead", "Contact"],
    records: Sequence[Record],
    maps: Sequence[FieldMap],
    ctx: ContactContext,
    *,
    recheck: bool = False,
) -> Taken:
    """Leads or Contacts into the store (module docstring). A record read again with the
    SystemModstamp we already hold is skipped, unless ``recheck`` (a full read: a formula
    may have changed without moving it)."""
    taken = Taken()
    if not records:
        return taken
    links = {r.salesforce_id: r for r in load_records(conn, ids=[str(x["Id"]) for x in records])}
    matched = _match_contacts(conn, [r for r in records if str(r["Id"]) not in links])
    contact_ids = {link.contact_id for link in links.values() if link.contact_id is not None} | set(
        matched.values()
    )
    views = load_views(conn, contact_ids)
    befores = {cid: snapshot(v) for cid, v in views.items()}
    marks = _pending_marks(conn, list(views))
    fresh: list[tuple[Record, ContactView]] = []
    problems: list[tuple[str, ContactView, str, str]] = []
    touched: dict[int, ContactView] = {}
    saved: list[Linked] = []
    forgotten: list[str] = []
    engine_keeps: list[int] = []
    for record in records:
        record_id = str(record["Id"])
        link = links.get(record_id)
        if (
            not recheck
            and link is not None
            and link.shadow is not None
            and link.modstamp
            and link.modstamp == str(record.get("SystemModstamp") or "")
        ):
            continue  # read again inside the overlap window, unchanged since: nothing to do
        contact_id = link.contact_id if link is not None else matched.get(record_id)
        converted = sobject == "Lead" and record.get("IsConverted")
        if converted and record.get("ConvertedContactId"):
            if contact_id is not None and contact_id in views:
                view = views[contact_id]
                if view.salesforce_type != "Contact":
                    _convert(conn, view, record, ctx)
                    touched[view.id] = view
                    saved.append(Linked(_id18(record["ConvertedContactId"]), "Contact", view.id))
            # A Lead converted before we ever saw it: its Contact brings the person in.
            forgotten.append(record_id)
            continue
        if contact_id is not None and contact_id in views:
            view = views[contact_id]
        else:
            view = ContactView(id=0)
            fresh.append((record, view))
        shadow = link.shadow if link is not None and link.shadow is not None else None
        keeps = _merge(view, record, maps, shadow, marks.get(view.id), taken)
        _owner(view, record)
        view.salesforce_id, view.salesforce_type = record_id, sobject
        view.lists.setdefault(_LIST_OF[sobject].casefold(), _LIST_OF[sobject])
        if keeps and view.id:
            engine_keeps.append(view.id)
        for name, message in _invalid(view, maps, ctx):
            view.set(name, befores[view.id].get(name) if view.id in befores else "")
            problems.append((record_id, view, name, message))
        new_link = Linked(
            record_id,
            sobject,
            view.id or None,
            _id18(record.get("AccountId")) or None,
            {m.path: from_salesforce(record.get(m.path), m.kind) for m in maps},
            str(record.get("SystemModstamp") or ""),
        )
        saved.append(new_link)
        if view.id:
            touched[view.id] = view
    if fresh:
        ids = new_contacts(conn, len(fresh), ctx.now)
        for (_record, view), new_id in zip(fresh, ids, strict=True):
            view.id = new_id
        by_record = {str(record["Id"]): view.id for record, view in fresh}
        for link in saved:
            if link.contact_id is None:
                link.contact_id = by_record.get(link.salesforce_id)
    pairs: list[tuple[ContactView | None, ContactView]] = [
        (befores.get(cid), view) for cid, view in touched.items() if cid in befores
    ]
    taken.changed += write_contacts(conn, pairs, ctx)
    if fresh:
        write_contacts(conn, [(None, view) for _, view in fresh], ctx)
        taken.changed += len(fresh)
    forget_records(conn, [f for f in forgotten if f not in {x.salesforce_id for x in saved}])
    save_records(conn, saved)
    _inbound_errors(conn, sobject, saved, problems, ctx, taken)
    # write_contacts marked every contact written here pending; what the sync itself took
    # in needs no comparison: only the ones the engine had changed stay pending.
    ours = [cid for cid in [*touched, *(v.id for _, v in fresh)] if cid not in marks]
    _unmark(conn, ours)
    if engine_keeps:
        mark_sync_pending(conn, engine_keeps, ctx.now)
    return taken


def _inbound_errors(
    conn: Connection,
    sobject: str,
    saved: Sequence[Linked],
    problems: Sequence[tuple[str, ContactView, str, str]],
    ctx: ContactContext,
    taken: Taken,
) -> None:
    """Values that did not fit go on the errors list (the rest of the record is taken);
    a record taken cleanly clears its earlier inbound errors."""
    se = table(SyncError)
    failing = {record_id for record_id, _, _, _ in problems}
    cleared: list[int] = []
    open_errors = conn.execute(sa.select(se.c.key).where(se.c.key.like("in:%")).limit(1)).first()
    for link in saved if open_errors is not None else ():
        if link.salesforce_id in failing:
            continue
        gone = conn.execute(
            sa.delete(se)
            .where(se.c.key.like(f"in:{link.salesforce_id}:%"))
            .returning(se.c.contact_id)
        ).scalars()
        cleared += [int(c) for c in gone if c is not None]
    for record_id, view, name, message in problems:
        record_error(
            conn,
            key=f"in:{record_id}:{name}",
            contact_id=view.id or None,
            salesforce_id=record_id,
            sobject=sobject,
            direction="in",
            code="INVALID_VALUE",
            message=message,
            now=ctx.now,
        )
        taken.failed += 1
    failed_ids = [v.id for _, v, _, _ in problems if v.id]
    set_error_list(conn, ctx, add=failed_ids, remove=[c for c in cleared if c not in failed_ids])


def _unmark(conn: Connection, contact_ids: Sequence[int]) -> None:
    sp = table(SyncPending)
    for start in range(0, len(contact_ids), 500):
        conn.execute(sa.delete(sp).where(sp.c.contact_id.in_(contact_ids[start : start + 500])))


def _pending_marks(conn: Connection, contact_ids: Sequence[int]) -> dict[int, datetime | None]:
    sp = table(SyncPending)
    out: dict[int, datetime | None] = {}
    for start in range(0, len(contact_ids), 500):
        for row in conn.execute(
            sa.select(sp.c.contact_id, sp.c.marked_at).where(
                sp.c.contact_id.in_(contact_ids[start : start + 500])
            )
        ):
            out[int(row.contact_id)] = row.marked_at
    return out


def _merge(
    view: ContactView,
    record: Mapping[str, Any],
    maps: Sequence[FieldMap],
    shadow: Mapping[str, str] | None,
    engine_changed_at: datetime | None,
    taken: Taken,
) -> bool:
    """Apply the record's values to the view (three-way, module docstring). Returns
    whether the engine kept a value of its own that must go out."""
    keeps = False
    sf_changed_at = salesforce_time(record.get("LastModifiedDate"))
    for m in maps:
        s = from_salesforce(record.get(m.path), m.kind)
        e = engine_text(view.get(m.contact_field), m.kind)
        if s == e:
            continue
        if shadow is None:  # first sight: Salesforce's values, blanks filled by the engine's
            if s not in ("", "false") or m.kind == "True/False":
                view.set(m.contact_field, s)
            continue
        h = shadow.get(m.path, "")
        if s == h:
            continue  # only the engine changed it (or nothing did): outbound's business
        if e == h or not m.writable:
            view.set(m.contact_field, s)
            continue
        taken.conflicts += 1
        engine_first = m.direction == "engine wins" or (
            m.direction == "latest wins"
            and engine_changed_at is not None
            and sf_changed_at is not None
            and _aware(engine_changed_at) > sf_changed_at
        )
        if engine_first:
            keeps = True
        else:
            view.set(m.contact_field, s)
    return keeps


def _aware(moment: datetime) -> datetime:
    from datetime import UTC

    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _owner(view: ContactView, record: Mapping[str, Any]) -> None:
    if "OwnerId" not in record:
        return
    view.owner_id = _id18(record.get("OwnerId")) or None
    view.owner_name = str(record.get("Owner.Name") or "") or None
    view.owner_email = str(record.get("Owner.Email") or "") or None


def _invalid(
    view: ContactView, maps: Sequence[FieldMap], ctx: ContactContext
) -> list[tuple[str, str]]:
    """Values that do not fit the contact field's declared type (the record goes on the
    error list; the rest of it is taken)."""
    out = []
    for m in maps:
        value = view.get(m.contact_field)
        if not value:
            continue
        try:
            coerce(m.contact_field, value, ctx.type_of(ctx.display(m.contact_field)))
        except FieldValueError as exc:
            out.append((m.contact_field, str(exc)))
    return out


def _convert(
    conn: Connection, view: ContactView, record: Mapping[str, Any], ctx: ContactContext
) -> None:
    """A Lead converted in Salesforce: the same contact (its runs, its feed) now stands for
    the Contact the Lead became."""
    contact_id = _id18(record["ConvertedContactId"])
    view.salesforce_id, view.salesforce_type = contact_id, "Contact"
    view.lists.pop(LEADS_LIST.casefold(), None)
    view.lists.setdefault(CONTACTS_LIST.casefold(), CONTACTS_LIST)
    if view.id:
        conn.execute(
            sa.insert(table(Activity)).values(
                contact_id=view.id,
                kind="sync",
                outcome="converted",
                detail=f"Lead {record['Id']} was converted in Salesforce to Contact {contact_id}",
                data=json.dumps({"lead": record["Id"], "contact": contact_id}),
                at=ctx.now,
            )
        )


def take_accounts(conn: Connection, records: Sequence[Record], ctx: ContactContext) -> Taken:
    """Accounts become companies (a Person Account too: its email stays on its contact);
    a change to a mapped Account field reaches the Account's contacts."""
    taken = Taken()
    if not records:
        return taken
    co = table(Company)
    links = {r.salesforce_id: r for r in load_records(conn, ids=[str(x["Id"]) for x in records])}
    saved: list[Linked] = []
    changed_accounts: dict[str, dict[str, str]] = {}
    for record in records:
        record_id = str(record["Id"])
        values = {
            k: from_salesforce(record.get(k), "Number" if k == "AnnualRevenue" else "Text")
            for k in ACCOUNT_FIELDS
        }
        name = values["Name"]
        if name:
            key = name.casefold()
            if conn.execute(sa.select(co.c.id).where(co.c.name_key == key)).first() is None:
                conn.execute(sa.insert(co).values(name=name, name_key=key))
        old = links.get(record_id)
        if old is None or old.shadow != values:
            taken.changed += 1
            if old is not None:
                changed_accounts[record_id] = values
        saved.append(
            Linked(
                record_id,
                "Account",
                None,
                record_id,
                values,
                str(record.get("SystemModstamp") or ""),
            )
        )
    save_records(conn, saved)
    if changed_accounts:
        people = load_records(conn, account_ids=list(changed_accounts))
        people = [p for p in people if p.object == "Contact" and p.contact_id is not None]
        views = load_views(conn, [p.contact_id for p in people if p.contact_id is not None])
        befores = {cid: snapshot(v) for cid, v in views.items()}
        for person in people:
            assert person.contact_id is not None
            view = views.get(person.contact_id)
            if view is None or person.account_id is None:
                continue
            values = changed_accounts[person.account_id]
            shadow = dict(person.shadow or {})
            for api_name, contact_field in ACCOUNT_FIELDS.items():
                view.set(contact_field, values[api_name])
                shadow[f"Account.{api_name}"] = values[api_name]
            person.shadow = shadow
        write_contacts(conn, [(befores[cid], v) for cid, v in views.items()], ctx)
        save_records(conn, people)
    return taken


def take_members(conn: Connection, records: Sequence[Record], ctx: ContactContext) -> Taken:
    """Campaign members become campaign statuses, so ``campaign member status``
    conditions and triggers work; a new or changed status is a
    ``campaign_status_changed`` event. Members of records not synced are left out."""
    taken = Taken()
    if not records:
        return taken
    people = {
        link.salesforce_id[:15]: link
        for link in load_records(
            conn,
            ids=[_id18(r.get("LeadId") or r.get("ContactId")) for r in records],
        )
    }
    cs = table(CampaignStatus)
    saved: list[Linked] = []
    woken: list[int] = []
    for record in records:
        person = people.get(_id18(record.get("ContactId") or record.get("LeadId"))[:15])
        campaign = str(record.get("Campaign.Name") or "")
        status = str(record.get("Status") or "")
        if person is None or person.contact_id is None or not campaign:
            continue
        key = campaign.casefold()
        old = conn.execute(
            sa.select(cs.c.status).where(
                cs.c.contact_id == person.contact_id, cs.c.campaign_key == key
            )
        ).scalar()
        saved.append(
            Linked(
                str(record["Id"]),
                "CampaignMember",
                person.contact_id,
                None,
                {"Status": status, "Campaign.Name": campaign},
                str(record.get("SystemModstamp") or ""),
            )
        )
        if old is not None and old == status:
            continue
        conn.execute(
            sa.delete(cs).where(cs.c.contact_id == person.contact_id, cs.c.campaign_key == key)
        )
        conn.execute(
            sa.insert(cs).values(
                contact_id=person.contact_id, campaign_key=key, campaign=campaign, status=status
            )
        )
        conn.execute(
            sa.insert(table(Event)).values(
                kind="campaign_status_changed",
                contact_id=person.contact_id,
                name=campaign,
                value=status,
                at=ctx.now,
                processed=False,
            )
        )
        woken.append(person.contact_id)
        taken.changed += 1
    save_records(conn, saved)
    if woken:
        wake_runs(conn, woken)
    return taken


def remove_records(
    conn: Connection, ids: Sequence[str], ctx: ContactContext, *, why: str, keep: bool = False
) -> Taken:
    """Records deleted in Salesforce (or no longer meeting their criteria): out of the
    store and out of the "Salesforce Leads"/"Salesforce Contacts" lists. A contact that
    has journey runs keeps them (and its feed) but loses its link; one without runs is
    deleted. ``keep``: the record stays as it is and is simply no longer synced."""
    taken = Taken()
    links = load_records(conn, ids=ids)
    if keep:
        for link in links:
            link.synced = False
        save_records(conn, links)
        return taken
    cs = table(CampaignStatus)
    people: dict[int, Linked] = {}
    for link in links:
        if link.object == "CampaignMember" and link.contact_id is not None:
            campaign = (link.shadow or {}).get("Campaign.Name", "")
            conn.execute(
                sa.delete(cs).where(
                    cs.c.contact_id == link.contact_id, cs.c.campaign_key == campaign.casefold()
                )
            )
        elif link.object in ("Lead", "Contact") and link.contact_id is not None:
            people[link.contact_id] = link
    forget_records(conn, [link.salesforce_id for link in links])
    taken.removed = len(links)
    if not people:
        return taken
    views = load_views(conn, list(people))
    runs = table(Run)
    with_runs = set(
        conn.execute(
            sa.select(runs.c.contact_id).where(runs.c.contact_id.in_(list(views))).distinct()
        ).scalars()
    )
    befores = {cid: snapshot(v) for cid, v in views.items()}
    detached = []
    for cid, view in views.items():
        if view.salesforce_id and view.salesforce_id[:15] != people[cid].salesforce_id[:15]:
            continue  # the contact moved on (a converted Lead): nothing to remove
        if cid not in with_runs:
            _delete_contact(conn, cid)
            continue
        view.lists.pop(LEADS_LIST.casefold(), None)
        view.lists.pop(CONTACTS_LIST.casefold(), None)
        view.salesforce_id = view.salesforce_type = None
        detached.append((befores[cid], view))
        conn.execute(
            sa.insert(table(Activity)).values(
                contact_id=cid,
                kind="sync",
                outcome="removed",
                detail=f"{people[cid].object} {people[cid].salesforce_id} {why}; removed from "
                "the Salesforce lists (the contact keeps its journeys)",
                data=None,
                at=ctx.now,
            )
        )
    write_contacts(conn, detached, ctx)
    return taken


def _delete_contact(conn: Connection, contact_id: int) -> None:
    for model in (
        FieldValue,
        Membership,
        SegmentMember,
        CampaignStatus,
        Event,
        Activity,
        SyncPending,
        SyncError,
    ):
        t = table(model)
        conn.execute(sa.delete(t).where(t.c.contact_id == contact_id))
    c = table(Contact)
    conn.execute(sa.delete(c).where(c.c.id == contact_id))


def possible_duplicates(conn: Connection) -> list[dict[str, Any]]:
    """Emails held by more than one Salesforce record: two contacts in the store, to be
    merged in Salesforce (the sync never merges two Salesforce records)."""
    c = table(Contact)
    rows = conn.execute(
        sa.select(c.c.email_key, sa.func.count().label("n"))
        .where(c.c.salesforce_id.is_not(None), c.c.email_key.is_not(None))
        .group_by(c.c.email_key)
        .having(sa.func.count() > 1)
        .order_by(c.c.email_key)
    ).all()
    out = []
    for row in rows:
        records = conn.execute(
            sa.select(c.c.id, c.c.salesforce_id, c.c.salesforce_type)
            .where(c.c.email_key == row.email_key, c.c.salesforce_id.is_not(None))
            .order_by(c.c.id)
        ).all()
        out.append(
            {
                "email": row.email_key,
                "records": [
                    {"contact": r.id, "salesforce_id": r.salesforce_id, "type": r.salesforce_type}
                    for r in records
                ],
            }
        )
    return out
