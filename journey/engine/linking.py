"""Link = read: a contact linked to a Salesforce record holds that record's values before
any journey decides on it.

Pipeline position: runner (before each step of a batch) -> **linking** ->
``connectors.sync.RecordReader`` (the Salesforce connector) -> the org; the values are
taken with the sync's own rules (``engine.sync.inbound.take_record``: field mapping, owner,
record type) into the batch's ``ContactView``s, which the runner writes in the same
transaction as the runs' new positions.

What is looked up, and when: ``link_reads`` keeps, per contact, what was last looked up —
its record's ID, or ``email:<lower-cased email>`` when it had none. A contact whose current
ID or email differs (imported with an ID, linked by a form, the sync, or an action that
created or found its record) is looked up again; intake needs to know nothing of it.

* by ID: the key prefix says Lead (``00Q``) or Contact (``003``); a converted Lead stands
  for the Contact it became (``ConvertedContactId``,
  developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/
  cdc_standard_objects_lead_conversion.htm);
* by email: an unconverted Lead first, else a Contact, the oldest first — the record
  ``ensure_records`` links to as well;
* a record another contact is already linked to is never linked to a second one.

One query per 200 contacts per object, for the contacts the org may hold: an org that
says which emails its Leads and Contacts have (``connectors.sync.KnowsPersonEmails``:
the embedded org reads its file) is not asked for the others. A read the org refuses
leaves the markers as they were: the runner holds the batch, and the next pass reads
again. A refusal for a field (``INVALID_FIELD``) is checked against the org's describe
as the sync checks it (``engine.sync.describe``), so a mapped field the org lacks is
named with where journey.toml maps it, not as Salesforce's raw answer.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journey.connectors.sync import (
    KnowsPersonEmails,
    Record,
    RecordReader,
    SyncReadError,
    might_hold,
)
from journey.engine.config import SyncConfig
from journey.engine.contact import ContactView
from journey.engine.contacts import ContactContext
from journey.engine.store import Contact, LinkRead, Store
from journey.engine.sync.describe import Describes, describe_org
from journey.engine.sync.inbound import record_link, take_record
from journey.engine.sync.mapping import FieldMap, field_maps, read_fields
from journey.engine.sync.merge import invalid_values
from journey.engine.sync.records import Linked, get_setting, load_records, save_records
from journey.vocabulary import RECORD_TYPES, RecordType, record_type_of

__all__ = ["LinkReader", "LinkReads", "lookup_key"]


def lookup_key(view: ContactView) -> str | None:
    """What the contact is looked up by now: its record's ID, else its email."""
    if view.salesforce_id:
        return view.salesforce_id
    if view.email:
        return f"email:{view.email.strip().casefold()}"
    return None


@dataclass
class LinkReads:
    """What one read found, to be written with the batch: the markers and the sync records
    (shadows) of the records taken."""

    marks: dict[int, str] = field(default_factory=dict)
    records: list[Linked] = field(default_factory=list)
    taken: int = 0

    def save(self, conn: Connection) -> None:
        if self.marks:
            lr = LinkRead
            ids = list(self.marks)
            for start in range(0, len(ids), 500):
                conn.execute(sa.delete(lr).where(lr.c.contact_id.in_(ids[start : start + 500])))
            conn.execute(
                sa.insert(lr),
                [{"contact_id": cid, "looked_up": key} for cid, key in self.marks.items()],
            )
        save_records(conn, self.records)


class LinkReader:
    """Reads the records of a batch's contacts through ``reader`` (module docstring)."""

    def __init__(
        self, reader: RecordReader, sync: SyncConfig, field_types: Mapping[str, str]
    ) -> None:
        self.reader, self.sync, self.field_types = reader, sync, field_types
        self._marks: dict[int, str | None] = {}

    def maps(self, conn: Connection, sobject: RecordType) -> list[FieldMap]:
        """The object's mapped fields, as the sync maps them (its describe cache decides
        which sync inbound only)."""
        read_only = get_setting(conn, f"describe:{sobject}") or []
        return field_maps(sobject, self.sync, self.field_types, frozenset(read_only))

    def due(self, conn: Connection, views: Iterable[ContactView]) -> list[ContactView]:
        """The views whose current ID or email was not what was last looked up."""
        views = list(views)
        unknown = [v.id for v in views if v.id not in self._marks]
        lr = LinkRead
        for start in range(0, len(unknown), 500):
            chunk = unknown[start : start + 500]
            for cid in chunk:
                self._marks[cid] = None
            for row in conn.execute(
                sa.select(lr.c.contact_id, lr.c.looked_up).where(lr.c.contact_id.in_(chunk))
            ):
                self._marks[int(row.contact_id)] = str(row.looked_up)
        return [v for v in views if (key := lookup_key(v)) and self._marks.get(v.id) != key]

    def read(
        self, conn: Connection, views: Sequence[ContactView], ctx: ContactContext
    ) -> LinkReads:
        """Look the views up and take what was found into them (module docstring). Raises
        the reader's ``SyncPaused`` / ``SyncReadError``; nothing is changed then."""
        out = LinkReads()
        if not views:
            return out
        maps = {o: self.maps(conn, o) for o in RECORD_TYPES}
        fields = {o: read_fields(o, m) for o, m in maps.items()}
        found = self._find(views, fields)
        taken_by_others = _linked_elsewhere(conn, {cid: r["Id"] for cid, (_, r) in found.items()})
        shadows = {
            link.salesforce_id: link.shadow
            for link in load_records(conn, ids=[str(r["Id"]) for _, r in found.values()])
        }
        for view, sobject, record in _take(views, found, maps, ctx, shadows, taken_by_others):
            if self.sync.object_sync(sobject).mode != "none":
                # The sync's shadow: its next cycle reads these values back unchanged.
                out.records.append(record_link(record, sobject, view.id, maps[sobject]))
            out.taken += 1
        for view in views:
            key = lookup_key(view)
            if key is not None:
                out.marks[view.id] = key
        return out

    def read_detached(self, views: Sequence[ContactView], ctx: ContactContext) -> int:
        """Look the views up and take what was found, for contacts the store does not hold
        (a dry run's CSV rows): the same lookup and the same rules as ``read``, with no
        markers, no shadows (first sight: Salesforce's values) and no other contacts to
        compete with but the views themselves. Returns how many records were taken."""
        views = [v for v in views if lookup_key(v) is not None]
        if not views:
            return 0
        maps = {o: field_maps(o, self.sync, self.field_types, frozenset()) for o in RECORD_TYPES}
        found = self._find(views, {o: read_fields(o, m) for o, m in maps.items()})
        return len(_take(views, found, maps, ctx, {}, set()))

    def read_batch(
        self,
        store: Store,
        views: Mapping[int, ContactView],
        new_links: Mapping[int, str],
        ctx: ContactContext,
    ) -> LinkReads:
        """A runner's batch: ``new_links`` (contact -> the record an action just created or
        found) are put on the views first, so what the org set on those records (a default
        status, an owner from an assignment rule) is read before the runs go on."""
        for contact_id, salesforce_id in new_links.items():
            view = views[contact_id]
            view.salesforce_id = salesforce_id
            view.salesforce_type = record_type_of(salesforce_id) or view.salesforce_type
        with store.engine.connect() as conn:
            return self.read(conn, self.due(conn, views.values()), ctx)

    def commit(self, reads: LinkReads) -> None:
        """The markers are known written: later batches of the pass need not look again."""
        self._marks.update(reads.marks)

    def _find(
        self, views: Sequence[ContactView], fields: Mapping[RecordType, tuple[str, ...]]
    ) -> dict[int, tuple[RecordType, Record]]:
        """Contact ID -> the record found for it, and its object. A field refused is
        explained by the sync's describe check where the reader can describe. An org
        that knows which emails it holds (the embedded one) is asked only for the
        contacts it may hold: a new contact is found nowhere without a call."""
        if isinstance(self.reader, KnowsPersonEmails):
            emails = self.reader.person_emails()
            views = [v for v in views if might_hold(emails, v.salesforce_id, v.email)]
            if not views:
                return {}
        try:
            return self._lookup(views, fields)
        except SyncReadError as problem:
            if problem.code == "INVALID_FIELD" and isinstance(self.reader, Describes):
                describe_org(self.reader, RECORD_TYPES, self.sync, criteria=False)
            raise

    def _lookup(
        self, views: Sequence[ContactView], fields: Mapping[RecordType, tuple[str, ...]]
    ) -> dict[int, tuple[RecordType, Record]]:
        by_id: dict[RecordType, dict[str, ContactView]] = {"Lead": {}, "Contact": {}}
        by_email: dict[str, ContactView] = {}
        for view in views:
            kind = record_type_of(view.salesforce_id)
            if view.salesforce_id and kind is not None:
                by_id[kind][view.salesforce_id] = view
            elif not view.salesforce_id and view.email:
                by_email.setdefault(view.email.strip().casefold(), view)
        found: dict[int, tuple[RecordType, Record]] = {}
        follow: dict[str, ContactView] = {}
        for sobject in RECORD_TYPES:
            wanted = by_id[sobject]
            if not wanted:
                continue
            short = {i[:15]: v for i, v in wanted.items()}
            for record in self.reader.read_records(sobject, fields[sobject], ids=list(wanted)):
                hit = short.get(str(record["Id"])[:15])
                if hit is None:
                    continue
                if sobject == "Lead" and record.get("IsConverted"):
                    if record.get("ConvertedContactId"):
                        follow[str(record["ConvertedContactId"])] = hit
                    continue
                found[hit.id] = (sobject, record)
        if follow:
            short = {i[:15]: v for i, v in follow.items()}
            for record in self.reader.read_records("Contact", fields["Contact"], ids=list(follow)):
                hit = short.get(str(record["Id"])[:15])
                if hit is not None:
                    found[hit.id] = ("Contact", record)
        for sobject in RECORD_TYPES:
            if not by_email:
                break
            rows = self.reader.read_records(sobject, fields[sobject], emails=list(by_email))
            for record in rows:  # oldest first: the first per email wins
                first = by_email.pop(str(record.get("Email") or "").strip().casefold(), None)
                if first is not None:
                    found[first.id] = (sobject, record)
        return found


def _take(
    views: Sequence[ContactView],
    found: Mapping[int, tuple[RecordType, Record]],
    maps: Mapping[RecordType, list[FieldMap]],
    ctx: ContactContext,
    shadows: Mapping[str, Mapping[str, str] | None],
    taken_elsewhere: Collection[int],
) -> list[tuple[ContactView, RecordType, Record]]:
    """Take each found record into its view with the sync's rules, once every read has
    answered. A record goes to one contact: the one linked to it by ID before one whose
    email found it, and never to a contact whose record another one holds
    (``taken_elsewhere``). A value the contact's field type refuses stays as it was."""
    claimed: set[str] = set()
    taken: list[tuple[ContactView, RecordType, Record]] = []
    for view in sorted(views, key=lambda v: v.salesforce_id is None):
        hit = found.get(view.id)
        if hit is None or view.id in taken_elsewhere or str(hit[1]["Id"])[:15] in claimed:
            continue
        claimed.add(str(hit[1]["Id"])[:15])
        sobject, record = hit
        before = view.copy()
        take_record(view, record, sobject, maps[sobject], shadows.get(str(record["Id"])), None)
        for name, _ in invalid_values(view, maps[sobject], ctx):
            view.set(name, before.get(name))
        taken.append((view, sobject, record))
    return taken


def _linked_elsewhere(conn: Connection, wanted: Mapping[int, Any]) -> set[int]:
    """Contacts whose found record another contact is already linked to."""
    if not wanted:
        return set()
    c = Contact
    ids = {str(i)[:15] for i in wanted.values()}
    keys = list({str(i) for i in wanted.values()} | ids)
    holders: dict[str, set[int]] = {}
    for start in range(0, len(keys), 400):
        for row in conn.execute(
            sa.select(c.c.id, c.c.salesforce_id).where(
                c.c.salesforce_id.in_(keys[start : start + 400])
            )
        ):
            holders.setdefault(str(row.salesforce_id)[:15], set()).add(int(row.id))
    return {
        cid for cid, record_id in wanted.items() if holders.get(str(record_id)[:15], set()) - {cid}
    }
