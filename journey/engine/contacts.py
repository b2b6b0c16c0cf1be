"""Contacts in and out of the store: batch loading, writing changes back, and what changes cause.

Pipeline position: CSV import / form events / journeys' own actions / the sync ->
**contacts** -> store; store -> **contacts** -> ``ContactView`` for the executor.

Every write goes through ``write_contacts``, which compares a contact before and after and
stores only the difference, so a change made by a journey, an import or the sync has the
same consequences: a ``field_changed`` event per changed field (existing contacts only: a
new contact's first values are not "changes"), an ``added_to_list`` event per new
membership, segment membership re-evaluated (``entered_segment`` when a contact starts to
match), and the contact's waiting runs woken so goals and ``wait until`` see the change.

Core fields live in columns (Email, First Name, Last Name, Company, Lead Owner, Salesforce
ID and type); the rest are typed values (``journey.toml`` ``[fields]`` types): a Number is
also stored as a number, a Date as a date, a True/False as a flag. ``coerce`` refuses a
value that does not fit its type, so a bad CSV row is reported, not stored.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from journey.engine.conditions import Evaluator, parse_number_or_date
from journey.engine.contact import OWNER_FIELD, ContactView, canonical_field
from journey.engine.store import (
    CampaignStatus,
    Company,
    Contact,
    ContactList,
    Event,
    FieldValue,
    Membership,
    Run,
    RunStatus,
    SegmentMember,
    SyncPending,
    table,
)

__all__ = [
    "ContactContext",
    "FieldValueError",
    "coerce",
    "contact_id_by_email",
    "load_views",
    "mark_sync_pending",
    "new_contacts",
    "snapshot",
    "wake_runs",
    "write_contacts",
]

_CORE = {"first name": "first_name", "last name": "last_name", "company": "company"}
_TRUE = {"true", "yes", "1", "y", "t", "checked", "on", "x"}
_FALSE = {"false", "no", "0", "n", "f", "unchecked", "off", ""}


class FieldValueError(ValueError):
    """A value that does not fit its field's declared type; the message says which."""


@dataclass
class ContactContext:
    """What writing contacts needs to know: field types (from ``journey.toml``), the
    segment evaluator, and the clock. ``listens`` (kind, name) -> bool, when given, keeps
    only the events some published journey has a trigger for: the inbox exists to start
    runs, and a pass that updates 100,000 contacts should not queue 300,000 events that
    no trigger will ever match. Without it every event is kept."""

    field_types: Mapping[str, str]
    evaluator: Evaluator
    now: datetime
    listens: Callable[[str, str], bool] | None = None
    _types: dict[str, tuple[str, str]] = field(init=False)

    def __post_init__(self) -> None:
        self._types = {k.casefold(): (k, v) for k, v in self.field_types.items()}

    def display(self, name: str) -> str:
        entry = self._types.get(name.strip().casefold())
        return entry[0] if entry else canonical_field(name)

    def type_of(self, name: str) -> str:
        entry = self._types.get(name.casefold())
        return entry[1] if entry else "Text"


def coerce(name: str, value: str, kind: str) -> tuple[str, float | None, date | None, bool | None]:
    """(text, number, date, flag) for a field value of a declared type."""
    text = value.strip()
    if kind == "Number":
        parsed = parse_number_or_date(text)
        if not isinstance(parsed, float):
            raise FieldValueError(f'field "{name}": "{value}" is not a number')
        return text, parsed, None, None
    if kind == "Date":
        parsed = parse_number_or_date(text)
        if not isinstance(parsed, date):
            raise FieldValueError(f'field "{name}": "{value}" is not a date (use YYYY-MM-DD)')
        return parsed.isoformat(), None, parsed, None
    if kind == "True/False":
        folded = text.casefold()
        if folded not in _TRUE | _FALSE:
            raise FieldValueError(f'field "{name}": "{value}" is not true or false')
        flag = folded in _TRUE
        return ("true" if flag else "false"), None, None, flag
    return text, None, None, None


# --------------------------------------------------------------------------- reading


def load_views(conn: Connection, contact_ids: Iterable[int]) -> dict[int, ContactView]:
    """The contacts as ``ContactView``s, in four queries whatever the batch size."""
    ids = sorted(set(contact_ids))
    views: dict[int, ContactView] = {}
    if not ids:
        return views
    c, fv = table(Contact), table(FieldValue)
    m, lst, cs = table(Membership), table(ContactList), table(CampaignStatus)
    for chunk in _chunks(ids, 900):
        for row in conn.execute(sa.select(c).where(c.c.id.in_(chunk))):
            view = ContactView(
                id=row.id,
                email=row.email,
                salesforce_id=row.salesforce_id,
                salesforce_type=row.salesforce_type,
                owner_id=row.owner_id,
                owner_name=row.owner_name,
                owner_email=row.owner_email,
            )
            for key, column in _CORE.items():
                value = getattr(row, column)
                if value:
                    view.fields[key] = (canonical_field(key), value)
            views[row.id] = view
        for frow in conn.execute(
            sa.select(fv.c.contact_id, fv.c.name, fv.c.text).where(fv.c.contact_id.in_(chunk))
        ):
            views[frow.contact_id].fields[frow.name.casefold()] = (frow.name, frow.text)
        for mrow in conn.execute(
            sa.select(m.c.contact_id, lst.c.name)
            .join(lst, lst.c.id == m.c.list_id)
            .where(m.c.contact_id.in_(chunk))
        ):
            views[mrow.contact_id].lists[mrow.name.casefold()] = mrow.name
        for crow in conn.execute(
            sa.select(cs.c.contact_id, cs.c.campaign_key, cs.c.status).where(
                cs.c.contact_id.in_(chunk)
            )
        ):
            views[crow.contact_id].campaigns[crow.campaign_key] = crow.status
    return views


def contact_id_by_email(conn: Connection, email: str) -> int | None:
    c = table(Contact)
    row = conn.execute(
        sa.select(c.c.id).where(c.c.email_key == email.strip().casefold()).order_by(c.c.id)
    ).first()
    return None if row is None else int(row.id)


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --------------------------------------------------------------------------- writing


def new_contacts(conn: Connection, count: int, now: datetime) -> list[int]:
    """Create ``count`` empty contacts; their fields are written by ``write_contacts``."""
    if count == 0:
        return []
    c = table(Contact)
    rows = [{"created_at": now, "updated_at": now} for _ in range(count)]
    # The rows are blank, so any id may go to any new contact: no ordering needed, which
    # lets SQLAlchemy batch the RETURNING insert instead of one statement per row.
    result = conn.execute(sa.insert(c).returning(c.c.id), rows)
    return sorted(int(r.id) for r in result)


def _list_ids(conn: Connection, names: Iterable[str]) -> dict[str, int]:
    lst = table(ContactList)
    wanted = {n.casefold(): n for n in names}
    if not wanted:
        return {}
    found = {
        r.name_key: int(r.id)
        for r in conn.execute(
            sa.select(lst.c.id, lst.c.name_key).where(lst.c.name_key.in_(list(wanted)))
        )
    }
    for key, name in wanted.items():
        if key not in found:
            found[key] = int(
                conn.execute(
                    sa.insert(lst).values(name=name, name_key=key).returning(lst.c.id)
                ).scalar_one()
            )
    return found


def _company_id(conn: Connection, name: str, cache: dict[str, int]) -> int:
    key = name.casefold()
    if key not in cache:
        co = table(Company)
        found = conn.execute(sa.select(co.c.id).where(co.c.name_key == key)).scalar()
        if found is None:
            found = conn.execute(
                sa.insert(co).values(name=name, name_key=key).returning(co.c.id)
            ).scalar_one()
        cache[key] = int(found)
    return cache[key]


def write_contacts(
    conn: Connection,
    pairs: Sequence[tuple[ContactView | None, ContactView]],
    ctx: ContactContext,
    *,
    emit_field_events: bool = True,
    busy: Collection[int] = frozenset(),
) -> int:
    """Store each (before, after) difference and its consequences (module docstring).
    ``before`` None means a new contact (no change events). Returns contacts changed."""
    c, fv, m = table(Contact), table(FieldValue), table(Membership)
    core_updates: list[dict[str, Any]] = []
    upserts: list[dict[str, Any]] = []
    deletes: list[dict[str, Any]] = []
    list_adds: list[tuple[int, str]] = []
    list_removes: list[tuple[int, str]] = []
    events: list[dict[str, Any]] = []
    changed_ids: list[int] = []
    companies: dict[str, int] = {}
    for before, after in pairs:
        old_f = before.keyed() if before else {}
        new_f = after.keyed()
        core_changed = before is None or (
            before.salesforce_id,
            before.salesforce_type,
            before.owner_id,
            before.owner_name,
            before.owner_email,
        ) != (
            after.salesforce_id,
            after.salesforce_type,
            after.owner_id,
            after.owner_name,
            after.owner_email,
        )
        field_changed = False
        for key in old_f.keys() | new_f.keys():
            was = old_f.get(key, ("", ""))[1]
            now_value = new_f.get(key, ("", ""))[1]
            if was == now_value:
                continue
            field_changed = True
            display = ctx.display(new_f.get(key, old_f.get(key, (key, "")))[0])
            if key in _CORE or key in ("email", OWNER_FIELD.casefold()):
                core_changed = True
            elif now_value:
                text, number, day, flag = coerce(display, now_value, ctx.type_of(display))
                upserts.append(
                    {
                        "contact_id": after.id,
                        "name_key": key,
                        "name": display,
                        "type": ctx.type_of(display),
                        "text": text,
                        "number": number,
                        "date_value": day,
                        "flag": flag,
                    }
                )
            else:
                deletes.append({"cid": after.id, "key": key})
            if before is not None and emit_field_events:
                events.append(_event("field_changed", after.id, display, now_value, ctx.now))
        old_lists = before.lists if before else {}
        for key, name in after.lists.items():
            if key not in old_lists:
                list_adds.append((after.id, name))
                events.append(_event("added_to_list", after.id, name, None, ctx.now))
        for key, name in old_lists.items():
            if key not in after.lists:
                list_removes.append((after.id, name))
        if core_changed:
            company = after.get("Company")
            core_updates.append(
                {
                    "cid": after.id,
                    "email": after.email,
                    "email_key": after.email.casefold() if after.email else None,
                    "first_name": after.get("First Name") or None,
                    "last_name": after.get("Last Name") or None,
                    "company": company or None,
                    "company_id": _company_id(conn, company, companies) if company else None,
                    "salesforce_id": after.salesforce_id,
                    "salesforce_type": after.salesforce_type,
                    "owner_id": after.owner_id,
                    "owner_name": after.owner_name,
                    "owner_email": after.owner_email,
                    "updated_at": ctx.now,
                }
            )
        if core_changed or field_changed or list_adds or list_removes:
            changed_ids.append(after.id)
    if core_updates:
        conn.execute(
            sa.update(c).where(c.c.id == sa.bindparam("cid")),
            core_updates,
        )
    if deletes:
        conn.execute(
            sa.delete(fv).where(
                fv.c.contact_id == sa.bindparam("cid"), fv.c.name_key == sa.bindparam("key")
            ),
            deletes,
        )
    if upserts:
        _upsert_fields(conn, upserts)
    if list_adds or list_removes:
        ids = _list_ids(conn, [n for _, n in list_adds + list_removes])
        if list_adds:
            conn.execute(
                sa.insert(m),
                [
                    {"list_id": ids[n.casefold()], "contact_id": cid, "added_at": ctx.now}
                    for cid, n in list_adds
                ],
            )
        if list_removes:
            conn.execute(
                sa.delete(m).where(
                    m.c.list_id == sa.bindparam("lid"), m.c.contact_id == sa.bindparam("cid")
                ),
                [{"lid": ids[n.casefold()], "cid": cid} for cid, n in list_removes],
            )
    if ctx.evaluator.segment_names and changed_ids:
        events.extend(
            _segments(conn, [after for _, after in pairs if after.id in set(changed_ids)], ctx)
        )
    if ctx.listens is not None:
        events = [e for e in events if ctx.listens(e["kind"], e["name"])]
    if events:
        conn.execute(sa.insert(table(Event)), events)
    if changed_ids:
        wake_runs(conn, changed_ids, busy)
        changed = set(changed_ids)
        linked = [a.id for _, a in pairs if a.salesforce_id and a.id in changed]
        if linked:
            mark_sync_pending(conn, linked, ctx.now)
    return len(changed_ids)


def mark_sync_pending(conn: Connection, contact_ids: Sequence[int], now: datetime) -> None:
    """Hook for the sync (``engine.sync``): contacts linked to a Salesforce record changed
    here, so its next cycle compares them with what Salesforce last had."""
    rows = [{"contact_id": cid, "marked_at": now} for cid in sorted(set(contact_ids))]
    if not rows:
        return
    name = conn.dialect.name
    pending = table(SyncPending)
    if name in ("sqlite", "postgresql"):
        dialect_insert = sqlite_insert if name == "sqlite" else postgresql_insert
        stmt = dialect_insert(pending)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["contact_id"], set_={"marked_at": stmt.excluded.marked_at}
            ),
            rows,
        )
        return
    ids = [r["contact_id"] for r in rows]  # pragma: no cover (other databases)
    conn.execute(sa.delete(pending).where(pending.c.contact_id.in_(ids)))
    conn.execute(sa.insert(pending), rows)


def _upsert_fields(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert or replace field values: one statement where the database has an upsert."""
    fv = table(FieldValue)
    name = conn.dialect.name
    if name in ("sqlite", "postgresql"):
        dialect_insert = sqlite_insert if name == "sqlite" else postgresql_insert
        stmt = dialect_insert(fv)
        changed = {
            c: stmt.excluded[c] for c in ("name", "type", "text", "number", "date_value", "flag")
        }
        conn.execute(
            stmt.on_conflict_do_update(index_elements=["contact_id", "name_key"], set_=changed),
            rows,
        )
        return
    conn.execute(
        sa.delete(fv).where(
            fv.c.contact_id == sa.bindparam("cid"), fv.c.name_key == sa.bindparam("key")
        ),
        [{"cid": u["contact_id"], "key": u["name_key"]} for u in rows],
    )
    conn.execute(sa.insert(fv), rows)


def _event(
    kind: str, contact_id: int, name: str, value: str | None, at: datetime
) -> dict[str, Any]:
    return {
        "kind": kind,
        "contact_id": contact_id,
        "name": name,
        "value": value,
        "at": at,
        "processed": False,
    }


def _segments(
    conn: Connection, views: Sequence[ContactView], ctx: ContactContext
) -> list[dict[str, Any]]:
    """Re-evaluate segment membership; an ``entered_segment`` event for each new match."""
    sm = table(SegmentMember)
    ids = [v.id for v in views]
    current: set[tuple[str, int]] = set()
    for chunk in _chunks(ids, 900):
        current |= {
            (r.segment_key, r.contact_id)
            for r in conn.execute(
                sa.select(sm.c.segment_key, sm.c.contact_id).where(sm.c.contact_id.in_(chunk))
            )
        }
    entered: list[dict[str, Any]] = []
    left: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for name in ctx.evaluator.segment_names:
        key = name.casefold()
        for view in views:
            matches = ctx.evaluator.in_segment(name, view)
            was = (key, view.id) in current
            if matches and not was:
                entered.append({"segment_key": key, "contact_id": view.id})
                events.append(_event("entered_segment", view.id, name, None, ctx.now))
            elif was and not matches:
                left.append({"k": key, "cid": view.id})
    if entered:
        conn.execute(sa.insert(sm), entered)
    if left:
        conn.execute(
            sa.delete(sm).where(
                sm.c.segment_key == sa.bindparam("k"), sm.c.contact_id == sa.bindparam("cid")
            ),
            left,
        )
    return events


def wake_runs(
    conn: Connection, contact_ids: Sequence[int], busy: Collection[int] = frozenset()
) -> None:
    """Waiting runs of changed contacts are re-checked at the next pass (goals, wait until).
    ``busy`` runs are the ones whose change this is: the caller is advancing them already."""
    r = table(Run)
    for chunk in _chunks(sorted(set(contact_ids)), 900):
        found = conn.execute(
            sa.select(r.c.id).where(
                r.c.contact_id.in_(chunk),
                r.c.status == RunStatus.WAITING.value,
                r.c.wake.is_(False),
            )
        ).scalars()
        ids = [i for i in found if i not in busy]
        if ids:
            conn.execute(sa.update(r).where(r.c.id.in_(ids)).values(wake=True))


def snapshot(view: ContactView) -> ContactView:
    """A copy: the "before" of a later ``write_contacts``."""
    return view.copy()
