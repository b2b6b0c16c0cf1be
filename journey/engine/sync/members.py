"""Campaign members: the statuses ``campaign member status`` conditions and triggers read.

Pipeline position: the cycle reads CampaignMembers last (after the people they belong to)
-> **members** -> store (campaign statuses, the events inbox). A new or changed status is
a ``campaign_status_changed`` event and wakes the contact's waiting runs; members of
records the sync does not keep are left out.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journey.connectors.sync import Record
from journey.engine.contacts import ContactContext, wake_runs
from journey.engine.store import CampaignStatus, Event
from journey.engine.sync.identity import id_text
from journey.engine.sync.inbound import Taken
from journey.engine.sync.records import Linked, load_records, save_records
from journey.engine.wakeups import announce_work

__all__ = ["take_members"]


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
            ids=[id_text(r.get("LeadId") or r.get("ContactId")) for r in records],
        )
    }
    cs = CampaignStatus
    saved: list[Linked] = []
    woken: list[int] = []
    for record in records:
        person = people.get(id_text(record.get("ContactId") or record.get("LeadId"))[:15])
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
            sa.insert(Event).values(
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
        announce_work(conn)
    return taken
