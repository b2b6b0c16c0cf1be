"""A batch of form posts written to PostgreSQL in two round trips.

Pipeline position: ``serve.form_writer`` -> **pg_rows** -> PostgreSQL, in place of
``engine.intake.submit_forms`` (which stays the path on SQLite). A busy intake's posts are
mostly new people: what a batch waits for is its round trips to the server, and what the
server's one interpreter spends is the ORM's and the driver's fixed cost per statement,
both paid per batch whatever its size. So a batch is:

1. one round trip (``BEGIN`` and the look-up of its emails, pipelined): which emails are
   already contacts (the oldest contact with the email, any letter case, as
   ``engine.import_targets`` matches a post), read whole;
2. the posts of known emails merged into their contacts and written by
   ``engine.contacts.write_contacts``, the one writer of contact changes, so a change has
   its usual consequences (``field changed`` events, segments, woken runs, sync marks); a
   batch of new people, or of known ones whose posts change nothing, skips this step;
3. one round trip for the rest, pipelined and ``COMMIT`` included: the new companies, the
   new contacts (one per email, merged in post order: a later value wins, an empty one
   never erases), their field values, the segments they match with their
   ``entered segment`` events, and every post's ``form submitted`` event, in post order,
   then the ``NOTIFY`` that wakes the workers.

Each statement's text is fixed whatever the batch's size (the rows travel as one JSON
value), so psycopg prepares it once per connection and the server plans it once. The
result is the store ``submit_forms`` leaves (tests/serve/test_intake_postgres_batches.py
holds the two to it), but for the order of the events of different contacts within one
batch (each contact's own events keep theirs).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa

from journey.engine.contact import OWNER_FIELD, ContactView, canonical_field
from journey.engine.contacts import ContactContext, coerce, snapshot, write_contacts
from journey.engine.field_values import CORE_COLUMNS
from journey.engine.intake import FormSubmission
from journey.engine.store import Store
from journey.engine.wakeups import CHANNEL

__all__ = ["takes", "write_forms"]

# The contacts of the batch's emails, with what ``engine.contact_loading.load_views`` reads
# of each (field values, lists, campaign statuses), found by email in one statement.
_KNOWN = f"""SELECT c.id, c.email_key, c.email, c.salesforce_id, c.salesforce_type, c.owner_id,
    c.owner_name, c.owner_email, {", ".join(f"c.{n}" for n in CORE_COLUMNS.values())},
    (SELECT json_agg(json_build_array(f.name, f.text)) FROM field_values f
     WHERE f.contact_id = c.id),
    (SELECT json_agg(l.name) FROM memberships m JOIN lists l ON l.id = m.list_id
     WHERE m.contact_id = c.id),
    (SELECT json_agg(json_build_array(s.campaign_key, s.status)) FROM campaign_statuses s
     WHERE s.contact_id = c.id)
FROM contacts c WHERE c.email_key = ANY(%s::varchar[]) ORDER BY c.id"""
#: The core fields read after the contacts' seven identity columns: key, display name.
_CORE = [(key, canonical_field(key)) for key in CORE_COLUMNS]

# The companies not stored yet (an id is drawn only for a company made); ``DO NOTHING``
# leaves a company another writer is making at the same time to that writer: the
# contacts' insert, a later statement, sees it once that one commits.
_COMPANIES = (
    "INSERT INTO companies (name, name_key) SELECT x.name, x.name_key "
    "FROM json_to_recordset(%s::json) AS x(name varchar, name_key varchar) "
    "WHERE NOT EXISTS (SELECT 1 FROM companies co WHERE co.name_key = x.name_key) "
    "ORDER BY x.name_key ON CONFLICT (name_key) DO NOTHING"
)
# The ids are the sequence's, in the posts' order; the field values and events find their
# contact by its email key (one new contact per key in a batch).
_NEW = """WITH x AS (
    SELECT * FROM json_to_recordset(%s::json) AS x(
        n int, email varchar, email_key varchar, first_name varchar, last_name varchar,
        company varchar, company_key varchar)
), made AS (
    INSERT INTO contacts (email, email_key, first_name, last_name, company, company_id,
                          created_at, updated_at)
    SELECT x.email, x.email_key, x.first_name, x.last_name, x.company,
           (SELECT co.id FROM companies co WHERE co.name_key = x.company_key), %s, %s
    FROM x ORDER BY x.n
    RETURNING id, email_key
), fields AS (
    INSERT INTO field_values (contact_id, name_key, name, type, text, number, date_value, flag)
    SELECT made.id, f.name_key, f.name, f.type, f.text, f.number, f.date_value, f.flag
    FROM json_to_recordset(%s::json) AS f(
        email_key varchar, name_key varchar, name varchar, type varchar, text varchar,
        number float8, date_value date, flag boolean)
    JOIN made ON made.email_key = f.email_key
), members AS (
    INSERT INTO segment_members (segment_key, contact_id)
    SELECT s.segment_key, made.id
    FROM json_to_recordset(%s::json) AS s(email_key varchar, segment_key varchar)
    JOIN made ON made.email_key = s.email_key
)
INSERT INTO events (kind, contact_id, name, value, at, processed)
SELECT e.kind, coalesce(made.id, e.contact_id), e.name, NULL, %s, false
FROM json_to_recordset(%s::json) AS e(
    n int, kind varchar, name varchar, email_key varchar, contact_id int)
LEFT JOIN made ON made.email_key = e.email_key AND e.contact_id IS NULL
ORDER BY e.n"""


def takes(store: Store) -> bool:
    """Whether this path writes the store's form batches (module docstring)."""
    return store.engine.dialect.name == "postgresql"


def _values(submission: FormSubmission, ctx: ContactContext) -> dict[str, str]:
    """The post's fields in the engine's spelling, checked against their types, as
    ``submit_forms`` reads them; raises ``FieldValueError`` for a value that does not fit."""
    values = {"Email": submission.email.strip()}
    for name, raw in submission.fields.items():
        value = (raw or "").strip()
        if not value or name.casefold() == "email":
            continue
        display = ctx.display(name)
        if ctx.is_inbound_only(display):
            continue
        coerce(display, value, ctx.type_of(display))
        values[display] = value
    return values


def _merge(view: ContactView, values: dict[str, str]) -> None:
    for name, value in values.items():
        if (
            name == "Email"
            and view.salesforce_id
            and (view.email or "").casefold() == value.casefold()
        ):
            continue  # a record's Email is Salesforce's: another letter case is no change
        view.set(name, value)


def _field_rows(key: str, view: ContactView, ctx: ContactContext) -> list[dict[str, Any]]:
    """A new contact's field values, as ``write_contacts`` stores them."""
    rows: list[dict[str, Any]] = []
    for name_key, (shown, value) in view.keyed().items():
        if name_key in CORE_COLUMNS or name_key in ("email", OWNER_FIELD.casefold()):
            continue
        display = ctx.display(shown)
        kind = ctx.type_of(display)
        text, number, day, flag = coerce(display, value, kind)
        rows.append(
            {
                "email_key": key,
                "name_key": name_key,
                "name": display,
                "type": kind,
                "text": text,
                "number": number,
                "date_value": day.isoformat() if isinstance(day, date) else None,
                "flag": flag,
            }
        )
    return rows


def write_forms(store: Store, ctx: ContactContext, submissions: Sequence[FormSubmission]) -> None:
    """The posts in one transaction, as ``submit_forms`` writes them (module docstring);
    raises ``FieldValueError`` before anything is written, ``SQLAlchemyError`` when the
    store cannot take them (nothing is kept)."""
    import psycopg

    values = [_values(s, ctx) for s in submissions]
    keys = [v["Email"].casefold() for v in values]
    with store.engine.connect() as conn:
        pg: psycopg.Connection[Any] = conn.connection.driver_connection  # type: ignore[assignment]
        try:
            known, views = _known(pg, sorted(set(keys)))
            _write_known(conn, ctx, values, keys, known, views)
            fresh: dict[str, ContactView] = {}
            for key, given in zip(keys, values, strict=True):
                if key not in known:
                    _merge(fresh.setdefault(key, ContactView(id=0)), given)
            people, fields, companies = [], [], {}
            for n, (key, view) in enumerate(fresh.items()):
                company = view.get("Company") or None
                if company:
                    companies[company.casefold()] = company
                people.append(
                    {
                        "n": n,
                        "email": view.email,
                        "email_key": key,
                        "first_name": view.get("First Name") or None,
                        "last_name": view.get("Last Name") or None,
                        "company": company,
                        "company_key": company.casefold() if company else None,
                    }
                )
                fields.extend(_field_rows(key, view, ctx))
            members, events = _entered(ctx, fresh)
            events += [
                {
                    "kind": "form_submitted",
                    "name": s.form,
                    "email_key": key,
                    "contact_id": known.get(key),
                }
                for s, key in zip(submissions, keys, strict=True)
            ]
            for n, event in enumerate(events):
                event["n"] = n
            with pg.pipeline():
                if companies:
                    rows = [{"name": v, "name_key": k} for k, v in sorted(companies.items())]
                    pg.execute(_COMPANIES, (json.dumps(rows),), prepare=True)
                now = ctx.now
                pg.execute(
                    _NEW,
                    (
                        json.dumps(people),
                        now,
                        now,
                        json.dumps(fields),
                        json.dumps(members),
                        now,
                        json.dumps(events),
                    ),
                    prepare=True,
                )
                pg.execute(f"NOTIFY {CHANNEL}", prepare=True)
                # A statement, not ``pg.commit()``: that would wait for its own answer, and
                # the block's end for the synchronisation after it, two round trips.
                pg.execute("COMMIT")
        except psycopg.Error as exc:
            # Raised outside any statement SQLAlchemy ran: wrapped as it would have wrapped
            # it, which is what the intake answers 503 for; a broken connection is not
            # handed to the next batch.
            if pg.broken:
                conn.invalidate()
            raise sa.exc.DBAPIError.instance(None, None, exc, psycopg.Error) from exc
        conn.commit()  # SQLAlchemy's bookkeeping: the driver has committed already


def _entered(
    ctx: ContactContext, fresh: dict[str, ContactView]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The segments the new contacts match (segment by segment, as
    ``change_effects.segment_changes`` orders them) and their ``entered_segment`` events,
    those some journey listens to."""
    members: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for name in ctx.evaluator.segment_names:
        for key, view in fresh.items():
            if ctx.evaluator.in_segment(name, view):
                members.append({"email_key": key, "segment_key": name.casefold()})
                if ctx.listens is None or ctx.listens("entered_segment", name):
                    events.append({"kind": "entered_segment", "name": name, "email_key": key})
    return members, events


def _known(pg: Any, keys: list[str]) -> tuple[dict[str, int], dict[int, ContactView]]:
    """Email key -> its oldest contact, and those contacts as views: one statement,
    pipelined with the transaction's ``BEGIN`` into one round trip."""
    with pg.pipeline():
        # Read once the block has ended: a read inside would wait for its answer, and the
        # block's end for the synchronisation after it, two round trips.
        found = pg.execute(_KNOWN, (keys,), prepare=True)
    people = found.fetchall()
    known: dict[str, int] = {}
    views: dict[int, ContactView] = {}
    for cid, key, email, sf_id, sf_type, owner_id, owner_name, owner_email, *rest in people:
        if key in known:
            continue  # a younger contact with the same email: posts go to the oldest
        known[key] = cid
        *core, fields, lists, campaigns = rest
        view = ContactView(
            cid,
            email,
            {k: (display, v) for (k, display), v in zip(_CORE, core, strict=True) if v},
            {},
            sf_id,
            sf_type,
            owner_id,
            owner_name,
            owner_email,
        )
        for name, text in fields or ():
            view.fields[name.casefold()] = (name, text)
        for name in lists or ():
            view.lists[name.casefold()] = name
        for campaign, status in campaigns or ():
            view.campaigns[campaign] = status
        views[cid] = view
    return known, views


def _write_known(
    conn: sa.Connection,
    ctx: ContactContext,
    values: list[dict[str, str]],
    keys: list[str],
    known: dict[str, int],
    views: dict[int, ContactView],
) -> None:
    """The posts of emails already stored, merged into their contacts in post order and
    written with the consequences of any change."""
    if not known:
        return
    befores = {cid: snapshot(view) for cid, view in views.items()}
    posted: dict[int, ContactView] = {}  # in the order first posted, as submit_forms has them
    for key, given in zip(keys, values, strict=True):
        if key in known:
            view = posted.setdefault(known[key], views[known[key]])
            _merge(view, given)
    write_contacts(conn, [(befores[cid], view) for cid, view in posted.items()], ctx)
